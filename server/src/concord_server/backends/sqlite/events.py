"""SQLite event log: WAL, each write one IMMEDIATE transaction on the writer thread, positions
MAX + 1 (gap-free: one writer at a time)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, TypeVar

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.failures import storage_errors
from concord_server.backends.sqlite.database import SqliteDatabase, run_script
from concord_server.config import Settings
from concord_server.ports.events import (
    NO_DATA,
    AppendResult,
    Direction,
    Expectation,
    LogChange,
    NewEvent,
    RecordedEvent,
    StoredId,
    StreamState,
    delete_outcome,
    replayed_append,
)
from concord_server.pubsub import Broadcaster

MIGRATION = """
CREATE TABLE IF NOT EXISTS events_schema_migrations (version INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS events_streams (
    stream TEXT PRIMARY KEY,
    current_revision INTEGER NOT NULL DEFAULT -1,
    first_revision INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    custom TEXT NOT NULL DEFAULT '{}',
    created_at TEXT
);
CREATE TABLE IF NOT EXISTS events_log (
    position INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    revision INTEGER NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    data TEXT,
    metadata TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (stream, revision)
);
INSERT OR IGNORE INTO events_schema_migrations (version) VALUES (1)
"""
EVENT_COLUMNS = "event_id, stream, revision, position, type, data, metadata, recorded_at"
STREAM_COLUMNS = "stream, current_revision, first_revision, deleted, custom, created_at"
T = TypeVar("T")


class SqliteEventLog:
    """Event log in one SQLite file; several processes may share it (polling tells them)."""

    def __init__(self, db: SqliteDatabase, poll_interval: float) -> None:
        self._db = db
        self._poll_interval = poll_interval
        self._changes: Broadcaster[LogChange] = Broadcaster()

    @property
    def changes(self) -> Broadcaster[LogChange]:
        """Hints of this instance's commits (others are found by polling)."""
        return self._changes

    @property
    def poll_interval(self) -> float | None:
        """Other processes' appends are seen by polling the head."""
        return self._poll_interval

    async def listen(self) -> None:
        """SQLite has no notifications."""

    async def migrate(self) -> None:
        """Creates the tables if missing."""
        await _guarded(self._db.write(lambda db: run_script(db, MIGRATION)))

    async def append(
        self, stream: str, events: Sequence[NewEvent], expected: Expectation, now: datetime
    ) -> AppendResult:
        """Appends the batch in one immediate transaction."""

        def append(db: sqlite3.Connection) -> tuple[AppendResult, bool]:
            state = _state(db, stream)
            found = _stored_ids(db, [e.event_id for e in events])
            replay = replayed_append(stream, events, expected, found, state)
            if replay is not None:
                return replay, False
            expected.verify(state)
            return _insert(db, stream, events, state, now), True

        def publish(outcome: tuple[AppendResult, bool]) -> None:
            if outcome[1]:
                self._changes.publish(LogChange(outcome[0].position, stream))

        result, _ = await _guarded(self._db.write(append, publish))
        return result

    async def read_stream(
        self, stream: str, direction: Direction, from_revision: int | None, limit: int
    ) -> list[RecordedEvent] | None:
        """Visible events of a live stream."""

        def read(db: sqlite3.Connection) -> list[RecordedEvent] | None:
            state = _state(db, stream)
            if state is None or not state.exists:
                return None
            if direction is Direction.FORWARD:
                low = max(state.first_revision, from_revision or 0)
                sql = "revision >= ? AND revision <= ? ORDER BY revision LIMIT ?"
                args: tuple[Any, ...] = (low, state.current_revision, limit)
            else:
                high = state.current_revision if from_revision is None else from_revision
                sql = "revision <= ? AND revision >= ? ORDER BY revision DESC LIMIT ?"
                args = (high, state.first_revision, limit)
            return _events(db, f"stream = ? AND {sql}", (stream, *args))

        return await _guarded(self._db.read(read))

    async def read_all(
        self,
        direction: Direction,
        from_position: int | None,
        limit: int,
        stream_prefix: str = "",
        to_position: int | None = None,
    ) -> list[RecordedEvent]:
        """Events of the global log."""
        where, args = ["substr(stream, 1, ?) = ?"], [len(stream_prefix), stream_prefix]
        if direction is Direction.FORWARD:
            where.append("position >= ?")
            args.append(from_position or 1)
            if to_position is not None:
                where.append("position <= ?")
                args.append(to_position)
            order = "position"
        else:
            if from_position is not None:
                where.append("position <= ?")
                args.append(from_position)
            order = "position DESC"
        clause = " AND ".join(where) + f" ORDER BY {order} LIMIT ?"
        return await _guarded(self._db.read(lambda db: _events(db, clause, (*args, limit))))

    async def head_position(self) -> int:
        """The last position."""
        return await _guarded(self._db.read(_head))

    async def stream_state(self, stream: str) -> StreamState | None:
        """The stream's row."""
        return await _guarded(self._db.read(lambda db: _state(db, stream)))

    async def set_custom(
        self, stream: str, custom: Mapping[str, Any], now: datetime
    ) -> StreamState:
        """Replaces the custom metadata."""

        def set_custom(db: sqlite3.Connection) -> StreamState | None:
            db.execute(
                "INSERT INTO events_streams (stream, custom) VALUES (?, ?)"
                " ON CONFLICT (stream) DO UPDATE SET custom = excluded.custom",
                (stream, json.dumps(dict(custom))),
            )
            return _state(db, stream)

        state = await _guarded(self._db.write(set_custom))
        assert state is not None
        return state

    async def delete(self, stream: str, expected_revision: int | None) -> StreamState:
        """Soft-deletes the stream."""

        def delete(db: sqlite3.Connection) -> StreamState | None:
            state = _state(db, stream)
            if delete_outcome(state, stream, expected_revision):
                db.execute("UPDATE events_streams SET deleted = 1 WHERE stream = ?", (stream,))
                state = _state(db, stream)
            return state

        state = await _guarded(self._db.write(delete))
        assert state is not None
        return state

    async def check(self) -> None:
        """Runs a trivial query."""
        await _guarded(self._db.read(lambda db: db.execute("SELECT 1").fetchone()))

    async def close(self) -> None:
        """The shared database stays open."""


def _head(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT COALESCE(MAX(position), 0) FROM events_log").fetchone()
    return int(row[0]) if row else 0


def _insert(
    db: sqlite3.Connection,
    stream: str,
    events: Sequence[NewEvent],
    state: StreamState | None,
    now: datetime,
) -> AppendResult:
    state = state or StreamState(stream)
    first_revision, created_at = state.first_revision, state.created_at
    if not state.exists:
        first_revision, created_at = state.current_revision + 1, now
    head = _head(db)
    base = state.current_revision + 1
    rows = [
        (head + 1 + i, stream, base + i, e.event_id, e.type, _dump(e.data),
         json.dumps(dict(e.metadata)), now.isoformat())
        for i, e in enumerate(events)
    ]  # fmt: skip
    db.executemany(
        "INSERT INTO events_log (position, stream, revision, event_id, type, data, metadata,"
        " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    last_revision = base + len(events) - 1
    db.execute(
        "INSERT INTO events_streams (stream, current_revision, first_revision, deleted,"
        " created_at) VALUES (?, ?, ?, 0, ?) ON CONFLICT (stream) DO UPDATE SET"
        " current_revision = excluded.current_revision, first_revision ="
        " excluded.first_revision, deleted = 0, created_at = excluded.created_at",
        (stream, last_revision, first_revision, _iso(created_at)),
    )
    revisions = tuple(range(base, last_revision + 1))
    return AppendResult(last_revision, head + len(events), revisions)


def _state(db: sqlite3.Connection, stream: str) -> StreamState | None:
    sql = f"SELECT {STREAM_COLUMNS} FROM events_streams WHERE stream = ?"
    row = db.execute(sql, (stream,)).fetchone()
    if row is None:
        return None
    return StreamState(
        stream=row[0],
        current_revision=row[1],
        first_revision=row[2],
        deleted=bool(row[3]),
        custom=json.loads(row[4]),
        created_at=datetime.fromisoformat(row[5]) if row[5] else None,
    )


def _stored_ids(db: sqlite3.Connection, event_ids: Sequence[str]) -> list[StoredId]:
    marks = ", ".join("?" for _ in event_ids)
    sql = f"SELECT event_id, stream, revision, position FROM events_log WHERE event_id IN ({marks})"
    return [StoredId(*row) for row in db.execute(sql, tuple(event_ids)).fetchall()]


def _events(db: sqlite3.Connection, where: str, args: Sequence[Any]) -> list[RecordedEvent]:
    rows = db.execute(f"SELECT {EVENT_COLUMNS} FROM events_log WHERE {where}", args).fetchall()
    return [_recorded(row) for row in rows]


async def _guarded(call: Awaitable[T]) -> T:
    with _engine_errors():
        return await call


def _engine_errors() -> AbstractContextManager[None]:
    """SQLite failures of this store on the catalogue: UNAVAILABLE when the file is busy or
    cannot be read or written, INTERNAL otherwise (see backends/failures.py)."""
    return storage_errors("event", "sqlite")


def _recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(
        event_id=row[0],
        stream=row[1],
        revision=row[2],
        position=row[3],
        type=row[4],
        data=json.loads(row[5]) if row[5] is not None else NO_DATA,
        metadata=json.loads(row[6]),
        recorded_at=datetime.fromisoformat(row[7]),
    )


def _dump(data: Any) -> str | None:
    return None if data is NO_DATA else json.dumps(data)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def open_event_log(url: str, settings: Settings, connections: Connections) -> SqliteEventLog:
    """The event log of a sqlite:// URL; `?poll_ms=` sets the head-poll interval (1000)."""
    with _engine_errors():
        db = await connections.sqlite(settings.sqlite_path(url))
    store = SqliteEventLog(db, int(url_option(url, "poll_ms", "1000")) / 1000)
    await store.migrate()
    return store
