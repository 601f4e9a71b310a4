"""Locks in SQLite: a table of grants and a table of per-name token counters, in IMMEDIATE
transactions. Times come from this host's clock, the one clock every user of the file shares."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite

from concord_server.backends.connections import Connections
from concord_server.clock import Clock, SystemClock
from concord_server.config import Settings
from concord_server.errors import ConcordError, ErrorCode
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lock_tokens (
    name TEXT PRIMARY KEY,
    last_token INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    fencing_token INTEGER NOT NULL,
    acquired_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    ttl_ms INTEGER NOT NULL,
    expiry_reported INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS locks_unreported_expiry ON locks (expires_at_ms)
    WHERE expiry_reported = 0;
"""
_COLUMNS = "name, owner, fencing_token, acquired_at_ms, expires_at_ms, ttl_ms, expiry_reported"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# One transaction at a time per shared connection (every store on a file shares it).
_TRANSACTION_LOCKS: weakref.WeakKeyDictionary[aiosqlite.Connection, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _to_ms(dt: datetime) -> int:
    return (dt - _EPOCH) // _MS


def _from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _record(row: Iterable[Any]) -> LockRecord:
    name, owner, token, acquired_ms, expires_ms, ttl_ms, *_ = row
    return LockRecord(
        name,
        owner,
        token,
        _from_ms(acquired_ms),
        _from_ms(expires_ms),
        timedelta(milliseconds=ttl_ms),
    )


@contextlib.contextmanager
def _engine_errors() -> Iterator[None]:
    """Turns SQLite failures (locked or broken database) into UNAVAILABLE."""
    try:
        yield
    except sqlite3.Error as exc:
        raise ConcordError(ErrorCode.UNAVAILABLE, f"lock storage failed: {exc}") from exc


class SqliteLockStore:
    """A LockStore in one SQLite file, safe for several connections to that file."""

    def __init__(
        self, db: aiosqlite.Connection, clock: Clock | None = None, queue_limit: int = 1000
    ) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self._events: Broadcaster[LockEvent] = Broadcaster(queue_limit)
        self._tx_lock = _TRANSACTION_LOCKS.setdefault(db, asyncio.Lock())

    async def create_tables(self) -> None:
        """Creates the tables if missing."""
        async with self._transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    await db.execute(statement)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any failure."""
        with _engine_errors():
            async with self._tx_lock:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    await self._db.execute("ROLLBACK")
                    raise
                await self._db.execute("COMMIT")

    def _now_ms(self) -> int:
        return _to_ms(self._clock.now())

    async def _current(self, db: aiosqlite.Connection, name: str) -> tuple[Any, ...] | None:
        cursor = await db.execute(f"SELECT {_COLUMNS} FROM locks WHERE name = ?", (name,))
        row = await cursor.fetchone()
        return tuple(row) if row is not None else None

    async def try_acquire(self, name: str, owner: str, ttl: timedelta) -> LockRecord | Conflict:
        """Grants the lock if it is free, expired or held by `owner`."""
        events: list[LockEvent] = []
        ttl_ms = ttl // _MS
        async with self._transaction() as db:
            now = self._now_ms()
            row = await self._current(db, name)
            if row is not None:
                if row[4] > now and row[1] != owner:
                    return Conflict(name, _from_ms(row[4]))
                if row[4] <= now and not row[6]:
                    events.append(LockEvent(LockEventType.EXPIRED, _record(row), _from_ms(row[4])))
            cursor = await db.execute(
                "INSERT INTO lock_tokens (name, last_token) VALUES (?, 1) ON CONFLICT (name) "
                "DO UPDATE SET last_token = last_token + 1 RETURNING last_token",
                (name,),
            )
            (token,) = await cursor.fetchone() or (0,)
            grant = (name, owner, token, now, now + ttl_ms, ttl_ms, 0)
            await db.execute(
                f"INSERT OR REPLACE INTO locks ({_COLUMNS}) VALUES (?,?,?,?,?,?,?)", grant
            )
        record = _record(grant)
        events.append(LockEvent(LockEventType.ACQUIRED, record, record.acquired_at))
        self._publish(events)
        return record

    @staticmethod
    def _refusal(row: tuple[Any, ...] | None, owner: str, token: int, now: int) -> Refusal | None:
        """Why the caller does not hold the grant in `row`, or None when it does."""
        if row is None or (row[1], row[2]) != (owner, token):
            return Refusal(RefusalReason.NOT_HELD)
        if row[4] <= now:
            return Refusal(RefusalReason.EXPIRED, _from_ms(row[4]))
        return None

    async def renew(
        self, name: str, owner: str, fencing_token: int, ttl: timedelta
    ) -> LockRecord | Refusal:
        """Extends the holder's grant to `ttl` from now."""
        ttl_ms = ttl // _MS
        async with self._transaction() as db:
            now = self._now_ms()
            row = await self._current(db, name)
            refusal = self._refusal(row, owner, fencing_token, now)
            if refusal is not None:
                return refusal
            assert row is not None
            await db.execute(
                "UPDATE locks SET expires_at_ms = ?, ttl_ms = ? WHERE name = ?",
                (now + ttl_ms, ttl_ms, name),
            )
        return _record((*row[:4], now + ttl_ms, ttl_ms))

    async def release(self, name: str, owner: str, fencing_token: int) -> LockRecord | Refusal:
        """Ends the holder's grant."""
        async with self._transaction() as db:
            now = self._now_ms()
            row = await self._current(db, name)
            refusal = self._refusal(row, owner, fencing_token, now)
            if refusal is not None:
                return refusal
            assert row is not None
            await db.execute("DELETE FROM locks WHERE name = ?", (name,))
        record = _record(row)
        self._publish([LockEvent(LockEventType.RELEASED, record, _from_ms(now))])
        return record

    async def get(self, name: str) -> LockRecord | None:
        """The current unexpired grant, if any."""
        with _engine_errors():
            row = await self._current(self._db, name)
        return _record(row) if row is not None and row[4] > self._now_ms() else None

    async def list(self, prefix: str, after: str, limit: int) -> list[LockRecord]:
        """Unexpired grants by prefix, in name order, after `after`."""
        with _engine_errors():
            cursor = await self._db.execute(
                f"SELECT {_COLUMNS} FROM locks WHERE name > ? AND name >= ? "
                "AND substr(name, 1, length(?)) = ? AND expires_at_ms > ? ORDER BY name LIMIT ?",
                (after, prefix, prefix, prefix, self._now_ms(), limit),
            )
            rows = await cursor.fetchall()
        return [_record(row) for row in rows]

    async def subscribe(self, match: EventFilter) -> Subscription[LockEvent]:
        """Events of changes made through this store that `match` accepts."""
        return self._events.subscribe(match)

    async def sweep_expired(self, limit: int = 100) -> int:
        """Reports newly expired grants and forgets those expired longer than the retention."""
        async with self._transaction() as db:
            now = self._now_ms()
            cursor = await db.execute(
                f"SELECT {_COLUMNS} FROM locks WHERE expiry_reported = 0 AND expires_at_ms <= ? "
                "ORDER BY expires_at_ms LIMIT ?",
                (now, limit),
            )
            rows = list(await cursor.fetchall())
            await db.executemany(
                "UPDATE locks SET expiry_reported = 1 WHERE name = ?", [(row[0],) for row in rows]
            )
            await db.execute(
                "DELETE FROM locks WHERE expiry_reported = 1 AND expires_at_ms <= ?",
                (now - EXPIRED_GRANT_RETENTION // _MS,),
            )
        self._publish(
            [LockEvent(LockEventType.EXPIRED, _record(row), _from_ms(row[4])) for row in rows]
        )
        return len(rows)

    async def check(self) -> None:
        """Raises UNAVAILABLE when the file cannot be read."""
        with _engine_errors():
            await self._db.execute("SELECT 1 FROM lock_tokens LIMIT 1")

    async def close(self) -> None:
        """Nothing runs in the background; the shared connection stays open."""

    def _publish(self, events: Iterable[LockEvent]) -> None:
        for event in events:
            self._events.publish(event)


async def open_lock_store(
    url: str, settings: Settings, connections: Connections
) -> SqliteLockStore:
    """The store in the file of a sqlite:// URL, with its tables created."""
    with _engine_errors():
        db = await connections.sqlite(settings.sqlite_path(url.split("?", 1)[0]))
    store = SqliteLockStore(db, queue_limit=settings.ws_max_queue)
    await store.create_tables()
    return store
