"""Page tokens: opaque, tamper-evident, and valid only for the listing that issued them.

A token is `base64url(position JSON) "." base64url(HMAC-SHA256 tag, 16 bytes)`, the tag taken
over the listing's name (with its filters) and the position, under a key every instance of a
deployment shares (`configure`, from CONCORD_PAGE_TOKEN_SECRET or the JWT verification key). A
token edited, made up, or taken from another listing or filter answers INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from concord_server.errors import ConcordError, invalid_argument

_TAG_BYTES = 16
_state = {"key": secrets.token_bytes(32)}  # replaced at start-up by `configure`


def configure(secret: str) -> None:
    """Keys the tags with `secret` (the same on every instance, or tokens only work locally)."""
    _state["key"] = hashlib.sha256(b"concord page tokens\0" + secret.encode()).digest()


def seal(listing: str, position: dict[str, Any]) -> str:
    """The token of `position` in `listing` (for example `locks|prefix=jobs/`)."""
    payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_tag(listing, payload))}"


def unseal(listing: str, token: str) -> dict[str, Any]:
    """The position a token of `listing` names; INVALID_ARGUMENT for any other text."""
    payload_text, _, tag_text = token.partition(".")
    try:
        payload, tag = _unb64(payload_text), _unb64(tag_text)
    except (binascii.Error, ValueError):
        raise _not_ours() from None
    if not hmac.compare_digest(tag, _tag(listing, payload)):
        raise _not_ours()
    position = json.loads(payload)
    if not isinstance(position, dict):
        raise _not_ours()
    return position


def _tag(listing: str, payload: bytes) -> bytes:
    message = listing.encode() + b"\0" + payload
    return hmac.new(_state["key"], message, hashlib.sha256).digest()[:_TAG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not text.isascii():
        raise ValueError("empty")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _not_ours() -> ConcordError:
    return invalid_argument(
        "page_token is not a token this listing issued (with these filters)",
        "page_token",
        reason="invalid_page_token",
    )


def member(position: dict[str, Any], name: str, kind: type) -> Any:
    """A member of a position of the expected JSON type (a non-negative int for `int`)."""
    value = position.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _not_ours()
    if isinstance(value, int) and value < 0:
        raise _not_ours()
    return value
