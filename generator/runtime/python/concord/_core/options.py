"""Per-call options and the `NOT_GIVEN` sentinel that tells "not passed" from `None`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import httpx

DEFAULT_TIMEOUT: Final = 60.0
DEFAULT_MAX_RETRIES: Final = 2


class NotGiven:
    """Type of `NOT_GIVEN`: an argument that was not passed (unlike `None`, "no timeout")."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        """The one instance."""
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        """Falsy, like a missing value."""
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

# Seconds as a float, an httpx.Timeout for connect/read/write/pool, or None for no timeout.
Timeout: TypeAlias = float | httpx.Timeout | None


@dataclass(frozen=True)
class RequestOptions:
    """What one call may override: headers, timeout, retries, idempotency key, stream transport."""

    extra_headers: Mapping[str, str] | None = None
    timeout: Timeout | NotGiven = NOT_GIVEN
    idempotency_key: str | None = None
    transport: str | None = None  # server streams: "websocket" or "sse"; None: the client's
    max_retries: int | None = None  # None: the client's


def to_httpx_timeout(value: Timeout) -> httpx.Timeout:
    """An httpx.Timeout from seconds, a Timeout or None."""
    if isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value)
