"""Locks in SQLite: a table of grants and a table of per-name token counters, each change one
IMMEDIATE transaction on the file's writer thread. Times come from this host's clock, the one
clock every user of the file shares."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from concord_server.backends.connections import Connections
from concord_server.backends.failures import storage_errors
from concord_server.backends.sqlite.database import SqliteDatabase, run_script
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
T = TypeVar("T")


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


def _engine_errors() -> AbstractContextManager[None]:
    """SQLite failures of this store on the catalogue: UNAVAILABLE when the file is busy or
    cannot be read or written, INTERNAL otherwise (see backends/failures.py)."""
    return storage_errors("lock", "sqlite")


async def _guarded(call: Awaitable[T]) -> T:
    with _engine_errors():
        return await call


def _current(db: sqlite3.Connection, name: str) -> tuple[Any, ...] | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM locks WHERE name = ?", (name,)).fetchone()
    return tuple(row) if row is not None else None


def _refusal(row: tuple[Any, ...] | None, owner: str, token: int, now: int) -> Refusal | None:
    """Why the caller does not hold the grant in `row`, or None when it does."""
    if row is None or (row[1], row[2]) != (owner, token):
        return Refusal(RefusalReason.NOT_HELD)
    if row[4] <= now:
        return Refusal(RefusalReason.EXPIRED, _from_ms(row[4]))
    return None


class SqliteLockStore:
    """A LockStore in one SQLite file, safe for several processes using that file."""

    def __init__(
        self, db: SqliteDatabase, clock: Clock | None = None, queue_limit: int = 1000
    ) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self._events: Broadcaster[LockEvent] = Broadcaster(queue_limit)

    async def create_tables(self) -> None:
        """Creates the tables if missing."""
        await _guarded(self._db.write(lambda db: run_script(db, _SCHEMA)))

    def _now_ms(self) -> int:
        return _to_ms(self._clock.now())

    async def try_acquire(self, name: str, owner: str, ttl: timedelta) -> LockRecord | Conflict:
        """Grants the lock if it is free, expired or held by `owner`."""
        ttl_ms = ttl // _MS

        def acquire(db: sqlite3.Connection) -> tuple[LockRecord | Conflict, list[LockEvent]]:
            now, events = self._now_ms(), []
            row = _current(db, name)
            if row is not None:
                if row[4] > now and row[1] != owner:
                    return Conflict(name, _from_ms(row[4])), []
                if row[4] <= now and not row[6]:
                    events.append(LockEvent(LockEventType.EXPIRED, _record(row), _from_ms(row[4])))
            (token,) = db.execute(
                "INSERT INTO lock_tokens (name, last_token) VALUES (?, 1) ON CONFLICT (name) "
                "DO UPDATE SET last_token = last_token + 1 RETURNING last_token",
                (name,),
            ).fetchone()
            grant = (name, owner, token, now, now + ttl_ms, ttl_ms, 0)
            db.execute(f"INSERT OR REPLACE INTO locks ({_COLUMNS}) VALUES (?,?,?,?,?,?,?)", grant)
            record = _record(grant)
            events.append(LockEvent(LockEventType.ACQUIRED, record, record.acquired_at))
            return record, events

        result, _ = await _guarded(self._db.write(acquire, self._publish_result))
        return result

    async def renew(
        self, name: str, owner: str, fencing_token: int, ttl: timedelta
    ) -> LockRecord | Refusal:
        """Extends the holder's grant to `ttl` from now."""
        ttl_ms = ttl // _MS

        def renew(db: sqlite3.Connection) -> LockRecord | Refusal:
            now = self._now_ms()
            row = _current(db, name)
            refusal = _refusal(row, owner, fencing_token, now)
            if refusal is not None or row is None:
                return refusal or Refusal(RefusalReason.NOT_HELD)
            db.execute(
                "UPDATE locks SET expires_at_ms = ?, ttl_ms = ? WHERE name = ?",
                (now + ttl_ms, ttl_ms, name),
            )
            return _record((*row[:4], now + ttl_ms, ttl_ms))

        return await _guarded(self._db.write(renew))

    async def release(self, name: str, owner: str, fencing_token: int) -> LockRecord | Refusal:
        """Ends the holder's grant."""

        def release(db: sqlite3.Connection) -> tuple[LockRecord | Refusal, list[LockEvent]]:
            now = self._now_ms()
            row = _current(db, name)
            refusal = _refusal(row, owner, fencing_token, now)
            if refusal is not None or row is None:
                return refusal or Refusal(RefusalReason.NOT_HELD), []
            db.execute("DELETE FROM locks WHERE name = ?", (name,))
            record = _record(row)
            return record, [LockEvent(LockEventType.RELEASED, record, _from_ms(now))]

        result, _ = await _guarded(self._db.write(release, self._publish_result))
        return result

    async def get(self, name: str) -> LockRecord | None:
        """The current unexpired grant, if any."""
        row = await _guarded(self._db.read(lambda db: _current(db, name)))
        return _record(row) if row is not None and row[4] > self._now_ms() else None

    async def list(self, prefix: str, after: str, limit: int) -> list[LockRecord]:
        """Unexpired grants by prefix, in name order, after `after`."""
        sql = (
            f"SELECT {_COLUMNS} FROM locks WHERE name > ? AND name >= ? "
            "AND substr(name, 1, length(?)) = ? AND expires_at_ms > ? ORDER BY name LIMIT ?"
        )
        args = (after, prefix, prefix, prefix, self._now_ms(), limit)
        rows = await _guarded(self._db.read(lambda db: db.execute(sql, args).fetchall()))
        return [_record(row) for row in rows]

    async def subscribe(self, match: EventFilter) -> Subscription[LockEvent]:
        """Events of changes made through this store that `match` accepts."""
        return self._events.subscribe(match)

    async def sweep_expired(self, limit: int = 100) -> int:
        """Reports newly expired grants and forgets those expired longer than the retention."""

        def sweep(db: sqlite3.Connection) -> tuple[int, list[LockEvent]]:
            now = self._now_ms()
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM locks WHERE expiry_reported = 0 AND expires_at_ms <= ? "
                "ORDER BY expires_at_ms LIMIT ?",
                (now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE locks SET expiry_reported = 1 WHERE name = ?", [(row[0],) for row in rows]
            )
            db.execute(
                "DELETE FROM locks WHERE expiry_reported = 1 AND expires_at_ms <= ?",
                (now - EXPIRED_GRANT_RETENTION // _MS,),
            )
            expired = [
                LockEvent(LockEventType.EXPIRED, _record(row), _from_ms(row[4])) for row in rows
            ]
            return len(rows), expired

        count, _ = await _guarded(self._db.write(sweep, self._publish_result))
        return count

    async def check(self) -> None:
        """Raises UNAVAILABLE when the file cannot be read."""
        await _guarded(self._db.read(lambda db: db.execute("SELECT 1 FROM lock_tokens LIMIT 1")))

    async def close(self) -> None:
        """Nothing runs in the background; the shared database stays open."""

    def _publish_result(self, result: tuple[Any, Iterable[LockEvent]]) -> None:
        for event in result[1]:
            self._events.publish(event)


async def open_lock_store(
    url: str, settings: Settings, connections: Connections
) -> SqliteLockStore:
    """The store in the file of a sqlite:// URL, with its tables created."""
    with _engine_errors():
        db = await connections.sqlite(settings.sqlite_path(url))
    store = SqliteLockStore(db, queue_limit=settings.ws_max_queue)
    await store.create_tables()
    return store
