"""Per-call `max_retries`, `with_options()`, same-origin redirects and credential precedence."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from concord import Concord, CrossOriginRedirectError, UnavailableError
from tests.helpers import LOCK, Recorder, error, ok


def test_a_call_may_set_its_own_retry_budget() -> None:
    recorder = Recorder(error(503, "UNAVAILABLE"))
    client = recorder.client(max_retries=5)
    with pytest.raises(UnavailableError):
        client.locks.get("a", max_retries=1)
    assert len(recorder.requests) == 2


def test_with_options_copies_the_client_and_shares_its_pool() -> None:
    recorder = Recorder(error(503, "UNAVAILABLE"))
    client = recorder.client(max_retries=5, extra_headers={"X-A": "1"})
    quick = client.with_options(max_retries=0, extra_headers={"X-B": "2"}, timeout=3.0)
    with pytest.raises(UnavailableError):
        quick.locks.get("a")
    assert len(recorder.requests) == 1
    sent = recorder.requests[0]
    assert (sent.headers["x-a"], sent.headers["x-b"], sent.headers["x-api-key"]) == (
        "1",
        "2",
        "test-key",
    )
    assert sent.extensions["timeout"]["read"] == 3.0
    assert quick._http is client._http and client.max_retries == 5
    quick.close()  # the copy does not own the pool
    assert not client._http.is_closed


def test_with_options_credentials_replace_both_kinds() -> None:
    recorder = Recorder(ok({"lock": LOCK}))
    client = recorder.client(bearer_token="jwt")
    client.with_options(api_key="other-key").locks.get("a")
    sent = recorder.requests[0].headers
    assert sent["x-api-key"] == "other-key" and "authorization" not in sent


def redirect(location: str) -> httpx.Response:
    return httpx.Response(307, headers={"Location": location})


def test_a_same_origin_redirect_is_followed_with_the_credential() -> None:
    recorder = Recorder(redirect("/v1/locks/b"), ok({"lock": LOCK}))
    recorder.client(base_url="http://concord.test").locks.get("a")
    assert [str(r.url) for r in recorder.requests] == [
        "http://concord.test/v1/locks/a",
        "http://concord.test/v1/locks/b",
    ]
    assert recorder.requests[1].headers["x-api-key"] == "test-key"


@pytest.mark.parametrize(
    "location",
    [
        "http://elsewhere.test/v1/locks/a",
        "https://concord.test/v1/locks/a",
        "http://concord.test:81/x",
    ],
)
def test_a_redirect_to_another_origin_is_refused(location: str) -> None:
    recorder = Recorder(redirect(location), ok({"lock": LOCK}))
    client = recorder.client(base_url="http://concord.test", bearer_token="jwt")
    with pytest.raises(CrossOriginRedirectError) as caught:
        client.locks.acquire("a", "w1", ttl=timedelta(seconds=1))
    assert caught.value.location == location
    assert len(recorder.requests) == 1  # nothing was sent to the other origin


def test_a_callers_http_client_that_follows_redirects_is_overridden() -> None:
    recorder = Recorder(redirect("http://elsewhere.test/x"), ok({}))
    http = httpx.Client(transport=httpx.MockTransport(recorder), follow_redirects=True)
    client = Concord(base_url="http://concord.test", api_key="k", http_client=http)
    with pytest.raises(CrossOriginRedirectError):
        client.locks.get("a")
    assert len(recorder.requests) == 1


def test_explicit_credentials_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_BEARER_TOKEN", "env-jwt")
    monkeypatch.setenv("CONCORD_API_KEY", "env-key")
    recorder = Recorder(ok({"lock": LOCK}))
    recorder.client(api_key="explicit").locks.get("a")
    sent = recorder.requests[0].headers
    assert sent["x-api-key"] == "explicit" and "authorization" not in sent
