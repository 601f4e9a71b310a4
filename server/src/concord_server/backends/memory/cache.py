"""In-process cache store: dicts per namespace, lazy expiry plus the domain's sweep."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime

from concord_server.backends.connections import Connections
from concord_server.config import Settings
from concord_server.ports.cache import (
    CacheEntry,
    CacheEvent,
    CacheEventType,
    CacheWrite,
    ConditionFailed,
    WriteCondition,
)
from concord_server.pubsub import Broadcaster, Subscription


def _is_expired(entry: CacheEntry, now: datetime) -> bool:
    """True once the entry's expiry time has been reached."""
    return entry.expires_at is not None and entry.expires_at <= now


class MemoryCacheStore:
    """A single-process CacheStore; every operation runs without awaiting, so it is atomic."""

    def __init__(self) -> None:
        self._namespaces: dict[str, dict[str, CacheEntry]] = {}
        self._deadlines: list[tuple[datetime, str, str, str]] = []  # (expires, ns, key, etag)
        self._events: Broadcaster[CacheEvent] = Broadcaster()

    def _live(self, namespace: str, key: str, now: datetime) -> CacheEntry | None:
        """The live entry, expiring it on the way if its TTL ran out."""
        entries = self._namespaces.get(namespace, {})
        entry = entries.get(key)
        if entry is not None and _is_expired(entry, now):
            self._expire(entry)
            return None
        return entry

    def _drop(self, entry: CacheEntry) -> None:
        """Forgets an entry, and its namespace once empty."""
        entries = self._namespaces.get(entry.namespace, {})
        entries.pop(entry.key, None)
        if not entries:
            self._namespaces.pop(entry.namespace, None)

    def _expire(self, entry: CacheEntry) -> None:
        """Drops an expired entry and announces it."""
        self._drop(entry)
        when = entry.expires_at or entry.updated_at
        self._events.publish(CacheEvent(CacheEventType.EXPIRED, entry.namespace, entry.key, when))

    def _write(self, namespace: str, write: CacheWrite, now: datetime) -> CacheEntry:
        """Stores an entry and announces it."""
        expires_at = now + write.ttl if write.ttl is not None else None
        entry = CacheEntry(namespace, write.key, write.value_json, write.etag, now, expires_at)
        self._namespaces.setdefault(namespace, {})[write.key] = entry
        if expires_at is not None:
            heapq.heappush(self._deadlines, (expires_at, namespace, write.key, write.etag))
        self._events.publish(CacheEvent(CacheEventType.SET, namespace, write.key, now, entry.etag))
        return entry

    def _remove(self, entry: CacheEntry, now: datetime) -> None:
        """Deletes an entry and announces it."""
        self._drop(entry)
        self._events.publish(CacheEvent(CacheEventType.DELETED, entry.namespace, entry.key, now))

    async def get(self, namespace: str, keys: Sequence[str], now: datetime) -> list[CacheEntry]:
        """The live entries among `keys`, in the order of `keys`."""
        found = (self._live(namespace, key, now) for key in keys)
        return [entry for entry in found if entry is not None]

    async def set(
        self, namespace: str, write: CacheWrite, condition: WriteCondition, now: datetime
    ) -> CacheEntry:
        """Writes one entry if the condition holds."""
        current = self._live(namespace, write.key, now)
        _check(current, condition)
        return self._write(namespace, write, now)

    async def set_many(
        self, namespace: str, writes: Sequence[CacheWrite], now: datetime
    ) -> list[CacheEntry]:
        """Writes every entry."""
        return [self._write(namespace, write, now) for write in writes]

    async def delete(self, namespace: str, key: str, if_match: str, now: datetime) -> bool:
        """Deletes one entry, honouring `if_match`."""
        current = self._live(namespace, key, now)
        if if_match:
            _check(current, WriteCondition(if_match=if_match))
        if current is None:
            return False
        self._remove(current, now)
        return True

    async def delete_prefix(self, namespace: str, prefix: str, now: datetime) -> int:
        """Deletes every live entry whose key starts with `prefix`."""
        keys = [k for k in self._namespaces.get(namespace, {}) if k.startswith(prefix)]
        doomed = [e for e in (self._live(namespace, k, now) for k in keys) if e is not None]
        for entry in doomed:
            self._remove(entry, now)
        return len(doomed)

    async def sweep_expired(self, now: datetime) -> int:
        """Expires every entry whose TTL ran out, in deadline order (stale deadlines skipped)."""
        expired = 0
        while self._deadlines and self._deadlines[0][0] <= now:
            _, namespace, key, etag = heapq.heappop(self._deadlines)
            entry = self._namespaces.get(namespace, {}).get(key)
            if entry is not None and entry.etag == etag and _is_expired(entry, now):
                self._expire(entry)
                expired += 1
        return expired

    async def subscribe(self, namespace: str, prefix: str, limit: int) -> Subscription[CacheEvent]:
        """A subscription to this process's events of the namespace."""
        return self._events.subscribe(
            lambda e: e.namespace == namespace and e.key.startswith(prefix), limit
        )

    async def ping(self) -> None:
        """Always answers."""

    async def close(self) -> None:
        """Nothing to release."""


def _check(current: CacheEntry | None, condition: WriteCondition) -> None:
    """Raises ConditionFailed when the current entry breaks the condition."""
    current_etag = current.etag if current is not None else None
    if condition.create_only and current is not None:
        raise ConditionFailed(current_etag, "entry already exists")
    if condition.if_match and current_etag != condition.if_match:
        raise ConditionFailed(current_etag, "etag does not match")


async def open_cache_store(
    url: str, settings: Settings, connections: Connections
) -> MemoryCacheStore:
    """A fresh in-process cache store (memory:// URLs share nothing between calls)."""
    return MemoryCacheStore()
