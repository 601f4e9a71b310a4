"""Reopening a broken Server-Sent Events stream after its last event id (docs/sdk-helpers.md §3).

A stream whose connection breaks after an `id:` sends the same request again with the header
`Last-Event-ID`, under the call's retry policy: at most `limit` attempts in a row without a
message, each after the backoff (or the server's `Retry-After`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from concord._core import retries
from concord._core.errors_base import APIConnectionError, ConcordAPIError

LAST_EVENT_ID = "Last-Event-ID"


@dataclass(frozen=True)
class Reopener:
    """How a sync stream reopens: one attempt from a last event id (a success, else it raises
    `httpx.TransportError` or the typed error), the retry budget, and the client's sleep hook."""

    attempt: Callable[[str], httpx.Response]
    limit: int
    sleep_hook: Callable[[float], None] | None = None


@dataclass(frozen=True)
class AsyncReopener:
    """`Reopener` of an async stream: its attempt is a coroutine."""

    attempt: Callable[[str], Awaitable[httpx.Response]]
    limit: int
    sleep_hook: Callable[[float], None] | None = None


class ReopenPolicy:
    """The count of failed reopen attempts since the last message, and the next delay."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures = 0
        self._hint: float | None = None

    def message_arrived(self) -> None:
        """A message came through: the next break starts a fresh count."""
        self.failures = 0
        self._hint = None

    def next_delay(self, cause: BaseException) -> float:
        """Seconds to wait before the next attempt; the connection error when none is left."""
        if self.failures >= self.limit:
            tried = f" ({self.failures} attempts to resume failed)" if self.failures else ""
            raise APIConnectionError(f"stream broken{tried}: {cause}") from cause
        delay = self._hint if self._hint is not None else retries.backoff(self.failures)
        self._hint = None
        self.failures += 1
        return delay

    def refused(self, error: ConcordAPIError) -> None:
        """An attempt answered an error: raise it when final, else keep its `Retry-After`."""
        if not retries.is_retryable_status(error.status):
            raise error
        if error.response is not None:
            self._hint = retries.retry_delay(self.failures, error.response.headers)
