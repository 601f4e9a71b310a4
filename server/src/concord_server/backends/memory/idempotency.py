"""In-process idempotency records: bounded (least recently used go first) and expiring."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from concord_server.backends.connections import Connections, url_option
from concord_server.config import Settings
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.idempotency import IdempotencyRecord, IdempotencyStore

DEFAULT_MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class _Entry:
    record: IdempotencyRecord
    owner: str
    expires_at: float


class MemoryIdempotencyStore:
    """An ordered dict of entries; past `max_entries` the least recently used is dropped."""

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max = max(1, max_entries)
        self._now = now

    @property
    def size(self) -> int:
        """How many records are held (markers included)."""
        return len(self._entries)

    def _live(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= self._now():
            del self._entries[key]
            return None
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def _put(self, key: str, entry: _Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def begin(
        self, key: str, fingerprint: str, owner: str, lease: timedelta
    ) -> IdempotencyRecord | None:
        """Claims a free (or expired) key, or returns the live record."""
        entry = self._live(key)
        if entry is not None:
            return entry.record
        marker = IdempotencyRecord(fingerprint, None)
        self._put(key, _Entry(marker, owner, self._now() + lease.total_seconds()))
        return None

    async def complete(self, key: str, fingerprint: str, answer: bytes, ttl: timedelta) -> None:
        """Stores the answer for `ttl`."""
        record = IdempotencyRecord(fingerprint, answer)
        self._put(key, _Entry(record, "", self._now() + ttl.total_seconds()))

    async def release(self, key: str, owner: str) -> None:
        """Drops the key when `owner` still holds it in progress."""
        entry = self._entries.get(key)
        if entry is not None and entry.record.answer is None and entry.owner == owner:
            del self._entries[key]

    async def ping(self) -> None:
        """Always answers."""


async def open_idempotency_store(
    url: str, settings: Settings, connections: Connections
) -> IdempotencyStore:
    """Opens an in-process store; `?max_entries=` bounds it (default 100000)."""
    raw = url_option(url, "max_entries", str(DEFAULT_MAX_ENTRIES))
    if not raw.isdigit() or int(raw) < 1:
        raise ConcordError(ErrorCode.INVALID_ARGUMENT, f"invalid max_entries {raw!r} in {url!r}")
    return MemoryIdempotencyStore(int(raw))
