"""Locks in process memory: a dict of grants and one token counter for the store.

One counter is monotonic per name too, and costs nothing per name once its grant is gone."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from concord_server.backends.connections import Connections
from concord_server.clock import Clock, SystemClock
from concord_server.config import Settings
from concord_server.ports.locks import (
    EXPIRED_GRANT_RETENTION,
    Conflict,
    EventFilter,
    LockEvent,
    LockEventType,
    LockRecord,
    Refusal,
    RefusalReason,
)
from concord_server.pubsub import Broadcaster, Subscription


@dataclass
class _Grant:
    """The latest grant of a name and whether its expiry was already reported."""

    record: LockRecord
    expiry_reported: bool = False


class MemoryLockStore:
    """A LockStore for one process; every call is atomic because it never awaits mid-change."""

    def __init__(self, clock: Clock | None = None, queue_limit: int = 1000) -> None:
        self._clock = clock or SystemClock()
        self._grants: dict[str, _Grant] = {}
        self._last_token = 0
        self._events: Broadcaster[LockEvent] = Broadcaster(queue_limit)

    async def try_acquire(self, name: str, owner: str, ttl: timedelta) -> LockRecord | Conflict:
        """Grants the lock if it is free, expired or held by `owner`."""
        now = self._clock.now()
        current = self._grants.get(name)
        if current is not None:
            held = current.record.expires_at > now
            if held and current.record.owner != owner:
                return Conflict(name, current.record.expires_at)
            if not held and not current.expiry_reported:
                self._publish(LockEventType.EXPIRED, current.record, current.record.expires_at)
        self._last_token += 1
        record = LockRecord(name, owner, self._last_token, now, now + ttl, ttl)
        self._grants[name] = _Grant(record)
        self._publish(LockEventType.ACQUIRED, record, now)
        return record

    def _holders_grant(self, name: str, owner: str, fencing_token: int) -> _Grant | Refusal:
        """The caller's current grant, or why it has none."""
        current = self._grants.get(name)
        if current is None or (current.record.owner, current.record.fencing_token) != (
            owner,
            fencing_token,
        ):
            return Refusal(RefusalReason.NOT_HELD)
        if current.record.expires_at <= self._clock.now():
            return Refusal(RefusalReason.EXPIRED, current.record.expires_at)
        return current

    async def renew(
        self, name: str, owner: str, fencing_token: int, ttl: timedelta
    ) -> LockRecord | Refusal:
        """Extends the holder's grant to `ttl` from now."""
        grant = self._holders_grant(name, owner, fencing_token)
        if isinstance(grant, Refusal):
            return grant
        grant.record = replace(grant.record, expires_at=self._clock.now() + ttl, ttl=ttl)
        return grant.record

    async def release(self, name: str, owner: str, fencing_token: int) -> LockRecord | Refusal:
        """Ends the holder's grant."""
        grant = self._holders_grant(name, owner, fencing_token)
        if isinstance(grant, Refusal):
            return grant
        del self._grants[name]
        self._publish(LockEventType.RELEASED, grant.record, self._clock.now())
        return grant.record

    async def get(self, name: str) -> LockRecord | None:
        """The current unexpired grant, if any."""
        current = self._grants.get(name)
        if current is None or current.record.expires_at <= self._clock.now():
            return None
        return current.record

    async def list(self, prefix: str, after: str, limit: int) -> list[LockRecord]:
        """Unexpired grants by prefix, in name order, after `after`."""
        now = self._clock.now()
        names = sorted(self._grants)
        start = (
            bisect.bisect_right(names, after)
            if after >= prefix
            else bisect.bisect_left(names, prefix)
        )
        page: list[LockRecord] = []
        for name in names[start:]:
            if not name.startswith(prefix) or len(page) >= limit:
                break
            record = self._grants[name].record
            if record.expires_at > now:
                page.append(record)
        return page

    async def subscribe(self, match: EventFilter) -> Subscription[LockEvent]:
        """Events of this store that `match` accepts."""
        return self._events.subscribe(match)

    async def sweep_expired(self, limit: int = 100) -> int:
        """Reports newly expired grants and forgets those expired longer than the retention."""
        now = self._clock.now()
        found = 0
        for name, grant in list(self._grants.items()):
            expires_at = grant.record.expires_at
            if expires_at > now:
                continue
            if not grant.expiry_reported and found < limit:
                grant.expiry_reported = True
                self._publish(LockEventType.EXPIRED, grant.record, expires_at)
                found += 1
            elif grant.expiry_reported and expires_at + EXPIRED_GRANT_RETENTION <= now:
                del self._grants[name]
        return found

    async def check(self) -> None:
        """Memory always answers."""

    async def close(self) -> None:
        """Nothing runs in the background."""

    def _publish(self, kind: LockEventType, record: LockRecord, at: datetime) -> None:
        self._events.publish(LockEvent(kind, record, at))


async def open_lock_store(
    url: str, settings: Settings, connections: Connections
) -> MemoryLockStore:
    """A fresh in-memory store (state lives as long as the process)."""
    return MemoryLockStore(queue_limit=settings.ws_max_queue)
