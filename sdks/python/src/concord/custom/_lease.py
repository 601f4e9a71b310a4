"""What lock holds share (hand-written): lease timing, error classes, the lost error.

The rules are docs/sdk-helpers.md §1: renew every ttl/3, count the lease from the *send time*
of the last successful grant or renewal (a monotonic clock, never the server's timestamps),
declare the hold lost at `base + ttl - margin`, retry transient failures every
`min(ttl/10, 1s)` until then.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from concord._core.errors_base import APIConnectionError, ConcordAPIError, ConcordError
from concord._core.retries import backoff

DEFAULT_TTL: Final = timedelta(seconds=30)
# The release on scope exit gets this many seconds in total, retries included.
RELEASE_BUDGET: Final = 5.0
# Catalogue codes that say the lock is no longer this holder's.
GONE_CODES: Final = frozenset({"LOCK_NOT_HELD", "LOCK_EXPIRED", "NOT_FOUND"})


class LockLostError(ConcordError):
    """The hold can no longer be trusted: renewals failed until the lease's safety deadline,
    a renewal or the release said the lock is gone, or the TTL ran out without auto-renew.

    `cause` is the error behind it (a catalogue error, a connection error) or None.
    """

    def __init__(self, name: str, reason: str, cause: BaseException | None = None) -> None:
        suffix = f": {cause}" if cause is not None else ""
        super().__init__(f"lock {name!r} lost ({reason}){suffix}")
        self.name = name
        self.reason = reason
        self.cause = cause


def default_owner() -> str:
    """A unique owner identity: host, process id and a random suffix."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def release_pause(retries_done: int, max_retries: int, remaining: float) -> float | None:
    """The pause before retrying a release (the client's backoff), or None when the client's
    `max_retries` are spent or the pause would outlast the RELEASE_BUDGET left."""
    pause = backoff(retries_done)
    return pause if retries_done < max_retries and pause <= remaining else None


def now() -> float:
    """The monotonic clock the helpers count leases with."""
    return time.monotonic()


def is_transient(error: BaseException) -> bool:
    """No answer, or a catalogue error marked retryable (UNAVAILABLE, RATE_LIMITED, INTERNAL)."""
    if isinstance(error, ConcordAPIError):
        return type(error).retryable
    return isinstance(error, APIConnectionError)


def is_gone(error: BaseException) -> bool:
    """Whether the server says the lock is not this holder's any more."""
    return isinstance(error, ConcordAPIError) and error.code in GONE_CODES


@dataclass(frozen=True)
class LeaseTiming:
    """The derived intervals of a hold's TTL (seconds)."""

    ttl: float

    @property
    def renew_interval(self) -> float:
        """Renew a third of the TTL after the last successful grant or renewal was sent."""
        return self.ttl / 3

    @property
    def margin(self) -> float:
        """How long before the lease's end the hold stops trusting it: min(ttl/5, 5s)."""
        return min(self.ttl / 5, 5.0)

    @property
    def retry_interval(self) -> float:
        """The pause before retrying a transient renewal failure: min(ttl/10, 1s)."""
        return min(self.ttl / 10, 1.0)

    def deadline(self, base: float) -> float:
        """The local deadline of a lease counted from `base` (a send time)."""
        return base + self.ttl - self.margin

    def late(self, sent: float, received: float) -> bool:
        """Whether a grant arrived so late that it must be confirmed by a renewal (1.2)."""
        return received - sent > self.renew_interval
