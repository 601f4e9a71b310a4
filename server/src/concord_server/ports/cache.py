"""The cache port: namespaced JSON entries with ETags, TTLs and an invalidation feed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from concord_server.pubsub import Subscription


@dataclass(frozen=True)
class CacheEntry:
    """A live entry; `value_json` is the JSON text of its value."""

    namespace: str
    key: str
    value_json: str
    etag: str
    updated_at: datetime
    expires_at: datetime | None = None

    def value(self) -> Any:
        """The value, parsed from its JSON text."""
        return json.loads(self.value_json)


@dataclass(frozen=True)
class CacheWrite:
    """One entry to write: key, JSON text, optional TTL and the new ETag chosen by the caller."""

    key: str
    value_json: str
    etag: str
    ttl: timedelta | None = None


@dataclass(frozen=True)
class WriteCondition:
    """A precondition of a single write or delete: an expected ETag and/or absence."""

    if_match: str = ""
    create_only: bool = False


class ConditionFailed(Exception):
    """A write's precondition did not hold; carries the entry's current ETag (None if absent)."""

    def __init__(self, current_etag: str | None, reason: str) -> None:
        super().__init__(reason)
        self.current_etag = current_etag
        self.reason = reason


class CacheEventType(StrEnum):
    """What happened to an entry."""

    SET = "SET"
    DELETED = "DELETED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class CacheEvent:
    """One invalidation of one key; `etag` is set only for SET."""

    type: CacheEventType
    namespace: str
    key: str
    occurred_at: datetime
    etag: str = ""


class CacheStore(Protocol):
    """Storage of cache entries. `now` is the domain clock's time, used for timestamps."""

    async def get(self, namespace: str, keys: Sequence[str], now: datetime) -> list[CacheEntry]:
        """The live entries among `keys`, in the order of `keys` (missing ones left out)."""
        ...

    async def set(
        self, namespace: str, write: CacheWrite, condition: WriteCondition, now: datetime
    ) -> CacheEntry:
        """Writes one entry if `condition` holds (raises ConditionFailed otherwise)."""
        ...

    async def set_many(
        self, namespace: str, writes: Sequence[CacheWrite], now: datetime
    ) -> list[CacheEntry]:
        """Writes every entry unconditionally and atomically, in order."""
        ...

    async def delete(self, namespace: str, key: str, if_match: str, now: datetime) -> bool:
        """Deletes one entry (only if its ETag equals `if_match` when given); False if absent."""
        ...

    async def delete_prefix(self, namespace: str, prefix: str, now: datetime) -> int:
        """Deletes every live entry whose key starts with `prefix`; returns how many."""
        ...

    async def sweep_expired(self, now: datetime) -> int:
        """Removes entries whose TTL ran out and announces them as EXPIRED; returns how many."""
        ...

    async def subscribe(self, namespace: str, prefix: str, limit: int) -> Subscription[CacheEvent]:
        """A bounded subscription to the namespace's events for keys starting with `prefix`."""
        ...

    async def ping(self) -> None:
        """Raises when the storage does not answer."""
        ...

    async def close(self) -> None:
        """Releases background listeners (shared connections stay open)."""
        ...
