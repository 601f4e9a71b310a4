"""In-process idempotency records: bounded by count and by bytes (least recently used go first)
and expiring."""

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
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
# What one entry costs beyond its key, fingerprint and answer (dict slot, ordering links, the
# entry and record objects and the headers of their strings), measured on CPython 3.11.
ENTRY_OVERHEAD = 420


@dataclass(frozen=True, slots=True)
class _Entry:
    record: IdempotencyRecord
    owner: str
    expires_at: float

    def cost(self, key: str) -> int:
        """The bytes this entry is charged against the budget."""
        answer = self.record.answer
        sizes = len(key) + len(self.owner) + len(self.record.fingerprint)
        return ENTRY_OVERHEAD + sizes + (0 if answer is None else len(answer))


class MemoryIdempotencyStore:
    """An ordered dict of entries; past `max_entries` or `max_bytes` the least recently used go."""

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        now: Callable[[], float] = time.monotonic,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max = max(1, max_entries)
        self._max_bytes = max(1, max_bytes)
        self._bytes = 0
        self._now = now

    @property
    def size(self) -> int:
        """How many records are held (markers included)."""
        return len(self._entries)

    @property
    def bytes_used(self) -> int:
        """The bytes charged for the records held (see `_Entry.cost`)."""
        return self._bytes

    def _live(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= self._now():
            self._drop(key)
            return None
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def _drop(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).cost(key)

    def _put(self, key: str, entry: _Entry) -> None:
        if key in self._entries:
            self._drop(key)
        self._entries[key] = entry
        self._bytes += entry.cost(key)
        while len(self._entries) > 1 and (
            len(self._entries) > self._max or self._bytes > self._max_bytes
        ):
            self._drop(next(iter(self._entries)))

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
            self._drop(key)

    async def ping(self) -> None:
        """Always answers."""


async def open_idempotency_store(
    url: str, settings: Settings, connections: Connections
) -> IdempotencyStore:
    """Opens an in-process store bounded by `?max_entries=` (100000) and `?max_bytes=` (16 MiB)."""
    entries = _positive_option(url, "max_entries", DEFAULT_MAX_ENTRIES)
    return MemoryIdempotencyStore(
        entries, max_bytes=_positive_option(url, "max_bytes", DEFAULT_MAX_BYTES)
    )


def _positive_option(url: str, name: str, default: int) -> int:
    raw = url_option(url, name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ConcordError(ErrorCode.INVALID_ARGUMENT, f"invalid {name} {raw!r} in {url!r}")
    return int(raw)
