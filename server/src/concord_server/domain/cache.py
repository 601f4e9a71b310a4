"""Cache rules: JSON values, fresh ETags on every write, conditional writes, TTLs and watches."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from concord_server.clock import Clock
from concord_server.errors import ConcordError, ErrorCode, invalid_argument, not_found
from concord_server.periodic import Periodic
from concord_server.ports.cache import (
    CacheEntry,
    CacheEvent,
    CacheStore,
    CacheWrite,
    ConditionFailed,
    WriteCondition,
)
from concord_server.pubsub import Subscription
from concord_server.telemetry import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EntryInput:
    """A value to write, as the caller gave it."""

    key: str
    value: Any
    ttl: timedelta | None = None


@dataclass(frozen=True)
class BatchGetResult:
    """Found entries in request order and the keys without a live entry."""

    entries: list[CacheEntry]
    missing_keys: list[str]


def new_etag() -> str:
    """A fresh opaque ETag: 16 random hex digits."""
    return secrets.token_hex(8)


def to_json(value: Any) -> str:
    """The compact JSON text of a value."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise invalid_argument(f"value is not JSON: {exc}", "value") from exc


class CacheService:
    """The cache's business rules over a CacheStore."""

    def __init__(self, store: CacheStore, clock: Clock, watch_queue_limit: int = 1000) -> None:
        self._store = store
        self._clock = clock
        self._watch_queue_limit = watch_queue_limit

    async def get(self, namespace: str, key: str) -> CacheEntry:
        """The live entry; NOT_FOUND when it is missing or expired."""
        found = await self._store.get(namespace, [key], self._clock.now())
        metrics.CACHE_LOOKUPS.labels("hit" if found else "miss").inc()
        if not found:
            raise not_found("cache entry", f"{namespace}/{key}")
        return found[0]

    async def set(
        self, namespace: str, entry: EntryInput, *, if_match: str = "", create_only: bool = False
    ) -> CacheEntry:
        """Writes an entry with a new ETag; PRECONDITION_FAILED when a condition fails."""
        if if_match and create_only:
            raise invalid_argument("if_match and create_only cannot be combined", "if_match")
        write = CacheWrite(entry.key, to_json(entry.value), new_etag(), entry.ttl)
        condition = WriteCondition(if_match=if_match, create_only=create_only)
        try:
            return await self._store.set(namespace, write, condition, self._clock.now())
        except ConditionFailed as failed:
            raise precondition_failed(namespace, entry.key, failed) from None

    async def delete(self, namespace: str, key: str, *, if_match: str = "") -> bool:
        """Deletes an entry; False when there was none (PRECONDITION_FAILED if ETags differ)."""
        try:
            return await self._store.delete(namespace, key, if_match, self._clock.now())
        except ConditionFailed as failed:
            raise precondition_failed(namespace, key, failed) from None

    async def batch_get(self, namespace: str, keys: Sequence[str]) -> BatchGetResult:
        """The live entries among `keys` in request order, and the keys that were missing."""
        entries = await self._store.get(namespace, keys, self._clock.now())
        found = {e.key for e in entries}
        metrics.CACHE_LOOKUPS.labels("hit").inc(len(found))
        metrics.CACHE_LOOKUPS.labels("miss").inc(len(keys) - len(found))
        return BatchGetResult(entries, [k for k in keys if k not in found])

    async def batch_set(self, namespace: str, entries: Sequence[EntryInput]) -> list[CacheEntry]:
        """Writes every entry unconditionally and atomically; keys must be unique."""
        seen: set[str] = set()
        for entry in entries:
            if entry.key in seen:
                raise invalid_argument(f"key {entry.key!r} appears twice", "entries", key=entry.key)
            seen.add(entry.key)
        writes = [CacheWrite(e.key, to_json(e.value), new_etag(), e.ttl) for e in entries]
        return await self._store.set_many(namespace, writes, self._clock.now())

    async def delete_prefix(self, namespace: str, prefix: str) -> int:
        """Deletes every entry whose key starts with `prefix` (all when empty); returns how many."""
        return await self._store.delete_prefix(namespace, prefix, self._clock.now())

    async def watch(self, namespace: str, prefix: str) -> Subscription[CacheEvent]:
        """A bounded subscription to the namespace's invalidations (close it when done)."""
        return await self._store.subscribe(namespace, prefix, self._watch_queue_limit)

    async def sweep(self) -> int:
        """Expires entries whose TTL ran out; returns how many."""
        evicted = await self._store.sweep_expired(self._clock.now())
        metrics.CACHE_EVICTIONS.inc(evicted)
        return evicted


def precondition_failed(namespace: str, key: str, failed: ConditionFailed) -> ConcordError:
    """The PRECONDITION_FAILED error of a failed conditional write."""
    return ConcordError(
        ErrorCode.PRECONDITION_FAILED,
        f"cache entry {namespace}/{key}: {failed.reason}",
        {"current_etag": failed.current_etag, "reason": failed.reason},
    )


class CacheSweeper:
    """The cache component: runs the expiry sweep in the background and checks the store."""

    backend: str
    name = "cache"

    def __init__(
        self, service: CacheService, store: CacheStore, backend: str, interval: float
    ) -> None:
        self.backend = backend
        self._store = store
        self._sweeper = Periodic("cache expiry sweep", interval, service.sweep)

    async def start(self) -> None:
        """Starts the periodic sweep."""
        self._sweeper.start()

    async def stop(self) -> None:
        """Stops the sweep and releases the store's listeners."""
        await self._sweeper.stop()
        await self._store.close()

    async def check(self) -> None:
        """Raises when the store does not answer."""
        await self._store.ping()
