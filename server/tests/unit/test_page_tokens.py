"""Page tokens are tamper-evident and bound to their listing (issue 7 finding 6)."""

from __future__ import annotations

import base64

import pytest

from concord_server import page_tokens
from concord_server.errors import ConcordError, ErrorCode


def refused(listing: str, token: str) -> None:
    with pytest.raises(ConcordError) as caught:
        page_tokens.unseal(listing, token)
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    assert caught.value.details == {"field": "page_token", "reason": "invalid_page_token"}


def test_a_token_opens_in_its_own_listing() -> None:
    token = page_tokens.seal("locks|jobs/", {"a": "jobs/7"})
    assert page_tokens.unseal("locks|jobs/", token) == {"a": "jobs/7"}


def test_a_token_of_another_listing_or_filter_is_refused() -> None:
    token = page_tokens.seal("locks|jobs/", {"a": "jobs/7"})
    refused("locks|", token)
    refused("rbac|roles", token)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "abc.def", "!!.!!", "é.é", "eyJ9.AAAA"])
def test_made_up_tokens_are_refused(garbage: str) -> None:
    refused("locks|", garbage)


def test_an_edited_position_is_refused() -> None:
    token = page_tokens.seal("sagas|", {"s": 10})
    _payload, tag = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"s":999}').decode().rstrip("=")
    refused("sagas|", f"{forged}.{tag}")


def test_tokens_depend_on_the_configured_secret() -> None:
    page_tokens.configure("one")
    token = page_tokens.seal("sagas|", {"s": 1})
    page_tokens.configure("two")
    refused("sagas|", token)
    page_tokens.configure("one")
    assert page_tokens.unseal("sagas|", token) == {"s": 1}


def test_members_must_have_their_type() -> None:
    with pytest.raises(ConcordError):
        page_tokens.member({"n": "7"}, "n", int)
    with pytest.raises(ConcordError):
        page_tokens.member({"n": -1}, "n", int)
    with pytest.raises(ConcordError):
        page_tokens.member({"n": True}, "n", int)
    assert page_tokens.member({"n": 7}, "n", int) == 7
