"""The lock store port: records of grants and events, and the Protocol every backend implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from concord_server.pubsub import Subscription

# How long a store remembers a grant that expired without being taken over, so that a late
# renew or release by its holder is told LOCK_EXPIRED rather than LOCK_NOT_HELD.
EXPIRED_GRANT_RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class LockRecord:
    """One grant of a lock: its holder, fencing token and validity."""

    name: str
    owner: str
    fencing_token: int
    acquired_at: datetime
    expires_at: datetime
    ttl: timedelta


@dataclass(frozen=True)
class Conflict:
    """An acquire refused because another owner holds the lock until `expires_at`."""

    name: str
    expires_at: datetime


class RefusalReason(StrEnum):
    """Why a renew or release was refused."""

    NOT_HELD = "NOT_HELD"  # another grant is current, the grant was released, or never existed
    EXPIRED = "EXPIRED"  # the caller's grant ran out and nobody has taken the lock since


@dataclass(frozen=True)
class Refusal:
    """A renew or release refused for a reason; `expired_at` is set for EXPIRED."""

    reason: RefusalReason
    expired_at: datetime | None = None


class LockEventType(StrEnum):
    """What happened to a lock."""

    ACQUIRED = "ACQUIRED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class LockEvent:
    """A change to one lock: the grant concerned and when the change happened."""

    type: LockEventType
    lock: LockRecord
    occurred_at: datetime


EventFilter = Callable[[LockEvent], bool]


class LockStore(Protocol):
    """Named locks with per-name fencing tokens that never decrease, in one storage engine."""

    async def try_acquire(self, name: str, owner: str, ttl: timedelta) -> LockRecord | Conflict:
        """Grants the lock if it is free, expired or held by `owner`; never waits."""
        ...

    async def renew(
        self, name: str, owner: str, fencing_token: int, ttl: timedelta
    ) -> LockRecord | Refusal:
        """Extends the holder's grant to `ttl` from now."""
        ...

    async def release(self, name: str, owner: str, fencing_token: int) -> LockRecord | Refusal:
        """Ends the holder's grant; returns the grant as it was."""
        ...

    async def get(self, name: str) -> LockRecord | None:
        """The current unexpired grant of a lock, if any."""
        ...

    async def list(self, prefix: str, after: str, limit: int) -> list[LockRecord]:
        """Up to `limit` unexpired grants whose names start with `prefix` and sort after `after`."""
        ...

    async def subscribe(self, match: EventFilter) -> Subscription[LockEvent]:
        """A subscription to the events `match` accepts, made by any instance sharing the engine."""
        ...

    async def sweep_expired(self, limit: int = 100) -> int:
        """Reports up to `limit` newly expired grants as EXPIRED events; returns how many."""
        ...

    async def check(self) -> None:
        """Raises ConcordError(UNAVAILABLE) when the engine does not answer."""
        ...

    async def close(self) -> None:
        """Stops background listeners (shared connections stay open)."""
        ...
