"""SQLite event log: WAL, one BEGIN IMMEDIATE transaction per write, positions MAX + 1."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any

import aiosqlite

from concord_server.backends.connections import Connections, url_option
from concord_server.config import Settings
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.events import (
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


class SqliteEventLog:
    """Event log in one SQLite file; several processes may share it (polling tells them)."""

    def __init__(self, conn: aiosqlite.Connection, poll_interval: float) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()  # this store's own connection: one statement flow at a time
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
        async with self._transaction():
            for statement in filter(str.strip, MIGRATION.split(";")):
                await self._conn.execute(statement)

    async def append(
        self, stream: str, events: Sequence[NewEvent], expected: Expectation, now: datetime
    ) -> AppendResult:
        """Appends the batch in one immediate transaction."""
        async with self._transaction():
            state = await self._state(stream)
            found = await self._stored_ids([e.event_id for e in events])
            replay = replayed_append(stream, events, expected, found, state)
            if replay is not None:
                return replay
            expected.verify(state)
            result = await self._insert(stream, events, state, now)
        self._changes.publish(LogChange(result.position, stream))
        return result

    async def _insert(
        self, stream: str, events: Sequence[NewEvent], state: StreamState | None, now: datetime
    ) -> AppendResult:
        state = state or StreamState(stream)
        first_revision, created_at = state.first_revision, state.created_at
        if not state.exists:
            first_revision, created_at = state.current_revision + 1, now
        async with self._conn.execute("SELECT COALESCE(MAX(position), 0) FROM events_log") as cur:
            row = await cur.fetchone()
        head = int(row[0]) if row else 0
        base = state.current_revision + 1
        rows = [
            (head + 1 + i, stream, base + i, e.event_id, e.type, _dump(e.data),
             json.dumps(dict(e.metadata)), now.isoformat())
            for i, e in enumerate(events)
        ]  # fmt: skip
        await self._conn.executemany(
            "INSERT INTO events_log (position, stream, revision, event_id, type, data, metadata,"
            " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        last_revision = base + len(events) - 1
        await self._conn.execute(
            "INSERT INTO events_streams (stream, current_revision, first_revision, deleted,"
            " created_at) VALUES (?, ?, ?, 0, ?) ON CONFLICT (stream) DO UPDATE SET"
            " current_revision = excluded.current_revision, first_revision ="
            " excluded.first_revision, deleted = 0, created_at = excluded.created_at",
            (stream, last_revision, first_revision, _iso(created_at)),
        )
        revisions = tuple(range(base, last_revision + 1))
        return AppendResult(last_revision, head + len(events), revisions)

    async def read_stream(
        self, stream: str, direction: Direction, from_revision: int | None, limit: int
    ) -> list[RecordedEvent] | None:
        """Visible events of a live stream."""
        async with self._reading():
            state = await self._state(stream)
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
            return await self._events(f"stream = ? AND {sql}", (stream, *args))

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
        async with self._reading():
            return await self._events(
                " AND ".join(where) + f" ORDER BY {order} LIMIT ?", (*args, limit)
            )

    async def head_position(self) -> int:
        """The last position."""
        async with (
            self._reading(),
            self._conn.execute("SELECT COALESCE(MAX(position), 0) FROM events_log") as cur,
        ):
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def stream_state(self, stream: str) -> StreamState | None:
        """The stream's row."""
        async with self._reading():
            return await self._state(stream)

    async def set_custom(
        self, stream: str, custom: Mapping[str, Any], now: datetime
    ) -> StreamState:
        """Replaces the custom metadata."""
        async with self._transaction():
            await self._conn.execute(
                "INSERT INTO events_streams (stream, custom) VALUES (?, ?)"
                " ON CONFLICT (stream) DO UPDATE SET custom = excluded.custom",
                (stream, json.dumps(dict(custom))),
            )
            state = await self._state(stream)
        assert state is not None
        return state

    async def delete(self, stream: str, expected_revision: int | None) -> StreamState:
        """Soft-deletes the stream."""
        async with self._transaction():
            state = await self._state(stream)
            if delete_outcome(state, stream, expected_revision):
                await self._conn.execute(
                    "UPDATE events_streams SET deleted = 1 WHERE stream = ?", (stream,)
                )
                state = await self._state(stream)
        assert state is not None
        return state

    async def check(self) -> None:
        """Runs a trivial query."""
        async with self._reading(), self._conn.execute("SELECT 1") as cur:
            await cur.fetchone()

    async def close(self) -> None:
        """The shared connection stays open."""

    async def _state(self, stream: str) -> StreamState | None:
        sql = f"SELECT {STREAM_COLUMNS} FROM events_streams WHERE stream = ?"
        async with self._conn.execute(sql, (stream,)) as cur:
            row = await cur.fetchone()
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

    async def _stored_ids(self, event_ids: Sequence[str]) -> list[StoredId]:
        marks = ", ".join("?" for _ in event_ids)
        sql = (
            "SELECT event_id, stream, revision, position FROM events_log"
            f" WHERE event_id IN ({marks})"
        )
        async with self._conn.execute(sql, tuple(event_ids)) as cur:
            return [StoredId(*row) for row in await cur.fetchall()]

    async def _events(self, where: str, args: Sequence[Any]) -> list[RecordedEvent]:
        async with self._conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events_log WHERE {where}", args
        ) as cur:
            rows = await cur.fetchall()
        return [_recorded(row) for row in rows]

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        with _engine_errors():
            async with self._lock:
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    await self._conn.rollback()
                    raise
                await self._conn.commit()

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[None]:
        with _engine_errors():
            async with self._lock:
                yield


@contextmanager
def _engine_errors() -> Iterator[None]:
    """Maps SQLite failures (a locked or unreadable file) to UNAVAILABLE."""
    try:
        yield
    except sqlite3.Error as exc:
        raise ConcordError(
            ErrorCode.UNAVAILABLE, f"event store is unavailable: {exc}", {"engine": "sqlite"}
        ) from exc


def _recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(
        event_id=row[0],
        stream=row[1],
        revision=row[2],
        position=row[3],
        type=row[4],
        data=json.loads(row[5]) if row[5] is not None else None,
        metadata=json.loads(row[6]),
        recorded_at=datetime.fromisoformat(row[7]),
    )


def _dump(data: Any) -> str | None:
    return None if data is None else json.dumps(data)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def open_event_log(url: str, settings: Settings, connections: Connections) -> SqliteEventLog:
    """The event log of a sqlite:// URL; `?poll_ms=` sets the head-poll interval (1000)."""
    conn = await connections.sqlite(settings.sqlite_path(url.split("?", 1)[0]))
    store = SqliteEventLog(conn, int(url_option(url, "poll_ms", "1000")) / 1000)
    await store.migrate()
    return store
