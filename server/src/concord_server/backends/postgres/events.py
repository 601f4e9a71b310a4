"""PostgreSQL event log: a one-row head counter serialises appends, so positions are gap-free."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.postgres.common import lock_ddl, postgres_errors, schema_of
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

log = logging.getLogger("concord.events.postgres")

MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE IF NOT EXISTS {s}.events_streams (
    stream text PRIMARY KEY,
    current_revision bigint NOT NULL DEFAULT -1,
    first_revision bigint NOT NULL DEFAULT 0,
    deleted boolean NOT NULL DEFAULT false,
    custom jsonb NOT NULL DEFAULT '{{}}',
    created_at timestamptz
);
CREATE TABLE IF NOT EXISTS {s}.events_log (
    position bigint PRIMARY KEY,
    stream text NOT NULL,
    revision bigint NOT NULL,
    event_id text NOT NULL UNIQUE,
    type text NOT NULL,
    data jsonb,
    metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL,
    UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS {s}.events_head (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    position bigint NOT NULL
);
INSERT INTO {s}.events_head (id, position) VALUES (true, 0) ON CONFLICT DO NOTHING;
""",
}
EVENT_COLUMNS = "event_id, stream, revision, position, type, data, metadata, recorded_at"
STREAM_COLUMNS = "stream, current_revision, first_revision, deleted, custom, created_at"


class PostgresEventLog:
    """Event log in one schema; instances learn of each other's appends by LISTEN/NOTIFY."""

    def __init__(self, pool: Any, schema: str, poll_interval: float) -> None:
        self._pool = pool
        self._schema = schema
        self._s = '"' + schema.replace('"', '""') + '"'
        self._channel = f"concord_events_{schema}"[:63]
        self._poll_interval = poll_interval
        self._changes: Broadcaster[LogChange] = Broadcaster()
        self._listener: Any = None
        self._listen_lock = asyncio.Lock()

    @property
    def changes(self) -> Broadcaster[LogChange]:
        """Hints of commits: this instance's, and every instance's through NOTIFY."""
        return self._changes

    @property
    def poll_interval(self) -> float | None:
        """Head polling backs up NOTIFY while the listening connection is lost."""
        return self._poll_interval

    async def migrate(self) -> None:
        """Creates the schema and tables if missing, once per version, under an advisory lock."""
        with _engine_errors():
            for attempt in range(3):
                try:
                    async with self._pool.acquire() as conn, conn.transaction():
                        await self._apply_migrations(conn)
                    return
                except asyncpg.UniqueViolationError:  # another domain created the schema meanwhile
                    if attempt == 2:
                        raise

    async def _apply_migrations(self, conn: Any) -> None:
        await lock_ddl(conn)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self._s}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self._s}.events_schema_migrations"
            " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            r["version"]
            for r in await conn.fetch(f"SELECT version FROM {self._s}.events_schema_migrations")
        }
        for version, script in sorted(MIGRATIONS.items()):
            if version not in done:
                await conn.execute(script.format(s=self._s))
                await conn.execute(
                    f"INSERT INTO {self._s}.events_schema_migrations (version) VALUES ($1)",
                    version,
                )

    async def listen(self) -> None:
        """Holds one pooled connection that LISTENs on this schema's channel."""
        if self._listening():
            return
        async with self._listen_lock:
            if self._listening():
                return
            with _engine_errors():
                await self._release_listener()
                conn = await self._pool.acquire()
                try:
                    await conn.add_listener(self._channel, self._on_notify)
                except BaseException:
                    await self._pool.release(conn)
                    raise
            conn.add_termination_listener(self._on_listener_lost)
            self._listener = conn

    def _listening(self) -> bool:
        if self._listener is None:
            return False
        try:
            return not self._listener.is_closed()
        except asyncpg.InterfaceError:  # the pool took the broken connection back
            return False

    def _on_listener_lost(self, _conn: Any) -> None:
        log.warning("event notifications lost; head polling covers until re-listening")

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        position, _, stream = payload.partition(" ")
        if position.isdigit():
            self._changes.publish(LogChange(int(position), stream))

    async def append(
        self, stream: str, events: Sequence[NewEvent], expected: Expectation, now: datetime
    ) -> AppendResult:
        """Appends in one transaction holding the head row lock (four round trips) until commit."""
        async with self._connection() as conn, conn.transaction():
            head = await conn.fetchval(f"SELECT position FROM {self._s}.events_head FOR UPDATE")
            # read only after the lock: this statement's snapshot then has every earlier append
            row = await conn.fetchrow(self._sql_before_append, stream, [e.event_id for e in events])
            state = None if row["stream"] is None else _stream_state(row)
            stored = [StoredId(*ids) for ids in zip(*_found_arrays(row), strict=True)]
            replay = replayed_append(stream, events, expected, stored, state)
            if replay is not None:
                return replay
            expected.verify(state)
            result = await self._write(conn, stream, events, state, head, now)
        self._changes.publish(LogChange(result.position, stream))
        return result

    @property
    def _sql_before_append(self) -> str:
        return (
            f"SELECT st.*, f.* FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT {STREAM_COLUMNS}"
            f" FROM {self._s}.events_streams WHERE stream = $1 FOR UPDATE) AS st ON true"
            " CROSS JOIN LATERAL (SELECT array_agg(l.event_id) AS found_ids,"
            " array_agg(l.stream) AS found_streams, array_agg(l.revision) AS found_revisions,"
            f" array_agg(l.position) AS found_positions FROM {self._s}.events_log AS l"
            " WHERE l.event_id = ANY($2::text[])) AS f"
        )

    async def _write(
        self,
        conn: Any,
        stream: str,
        events: Sequence[NewEvent],
        state: StreamState | None,
        head: int,
        now: datetime,
    ) -> AppendResult:
        """Inserts the events, moves the stream and the head, and notifies: one statement."""
        state = state or StreamState(stream)
        first_revision, created_at = state.first_revision, state.created_at
        if not state.exists:
            first_revision, created_at = state.current_revision + 1, now
        base, count = state.current_revision + 1, len(events)
        last_revision, position = base + count - 1, head + count
        await conn.execute(
            f"WITH inserted AS (INSERT INTO {self._s}.events_log ({EVENT_COLUMNS})"
            " SELECT e.id, $1::text, $2::bigint + e.i - 1, $3::bigint + e.i, e.type, e.data,"
            " e.metadata, $4::timestamptz"
            " FROM unnest($5::text[], $6::text[], $7::jsonb[], $8::jsonb[])"
            " WITH ORDINALITY AS e(id, type, data, metadata, i)),"
            f" moved AS (INSERT INTO {self._s}.events_streams"
            " (stream, current_revision, first_revision, deleted, created_at)"
            " VALUES ($1, $9, $10, false, $11) ON CONFLICT (stream) DO UPDATE SET"
            " current_revision = excluded.current_revision,"
            " first_revision = excluded.first_revision, deleted = false,"
            " created_at = excluded.created_at),"
            f" head AS (UPDATE {self._s}.events_head SET position = $12)"
            " SELECT pg_notify($13, $14)",
            stream,
            base,
            head,
            now,
            [e.event_id for e in events],
            [e.type for e in events],
            [None if e.data is NO_DATA else json.dumps(e.data) for e in events],
            [json.dumps(dict(e.metadata)) for e in events],
            last_revision,
            first_revision,
            created_at,
            position,
            self._channel,
            f"{position} {stream}",
        )
        return AppendResult(last_revision, position, tuple(range(base, last_revision + 1)))

    async def read_stream(
        self, stream: str, direction: Direction, from_revision: int | None, limit: int
    ) -> list[RecordedEvent] | None:
        """Visible events of a live stream."""
        async with self._connection() as conn:
            state = await self._state(conn, stream)
            if state is None or not state.exists:
                return None
            if direction is Direction.FORWARD:
                low = max(state.first_revision, from_revision or 0)
                where = "revision >= $2 AND revision <= $3 ORDER BY revision"
                bounds = (low, state.current_revision)
            else:
                high = state.current_revision if from_revision is None else from_revision
                where = "revision <= $2 AND revision >= $3 ORDER BY revision DESC"
                bounds = (high, state.first_revision)
            rows = await conn.fetch(
                f"SELECT {EVENT_COLUMNS} FROM {self._s}.events_log"
                f" WHERE stream = $1 AND {where} LIMIT $4",
                stream,
                *bounds,
                limit,
            )
        return [_recorded(row) for row in rows]

    async def read_all(
        self,
        direction: Direction,
        from_position: int | None,
        limit: int,
        stream_prefix: str = "",
        to_position: int | None = None,
    ) -> list[RecordedEvent]:
        """Events of the global log."""
        forward = direction is Direction.FORWARD
        if forward:
            low, high, order = from_position or 1, to_position, "position"
        else:
            low, high, order = 1, from_position, "position DESC"
        async with self._connection() as conn:
            rows = await conn.fetch(
                f"SELECT {EVENT_COLUMNS} FROM {self._s}.events_log"
                " WHERE position >= $1 AND ($2::bigint IS NULL OR position <= $2)"
                f" AND starts_with(stream, $3) ORDER BY {order} LIMIT $4",
                low,
                high,
                stream_prefix,
                limit,
            )
        return [_recorded(row) for row in rows]

    async def head_position(self) -> int:
        """The committed head (the counter commits with the events)."""
        async with self._connection() as conn:
            head: int = await conn.fetchval(f"SELECT position FROM {self._s}.events_head")
        return head

    async def stream_state(self, stream: str) -> StreamState | None:
        """The stream's row."""
        async with self._connection() as conn:
            return await self._state(conn, stream)

    async def set_custom(
        self, stream: str, custom: Mapping[str, Any], now: datetime
    ) -> StreamState:
        """Replaces the custom metadata."""
        async with self._connection() as conn:
            row = await conn.fetchrow(
                f"INSERT INTO {self._s}.events_streams (stream, custom) VALUES ($1, $2::jsonb)"
                " ON CONFLICT (stream) DO UPDATE SET custom = excluded.custom"
                f" RETURNING {STREAM_COLUMNS}",
                stream,
                json.dumps(dict(custom)),
            )
        return _stream_state(row)

    async def delete(self, stream: str, expected_revision: int | None) -> StreamState:
        """Soft-deletes the stream under its row lock."""
        async with self._connection() as conn, conn.transaction():
            state = await self._state(conn, stream, for_update=True)
            if delete_outcome(state, stream, expected_revision):
                row = await conn.fetchrow(
                    f"UPDATE {self._s}.events_streams SET deleted = true WHERE stream = $1"
                    f" RETURNING {STREAM_COLUMNS}",
                    stream,
                )
                state = _stream_state(row)
        assert state is not None
        return state

    async def check(self) -> None:
        """Reads the head row."""
        await self.head_position()

    async def close(self) -> None:
        """Releases the listening connection; the pool stays open."""
        async with self._listen_lock:
            await self._release_listener()

    async def _release_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is None:
            return
        try:
            if not conn.is_closed():
                await conn.remove_listener(self._channel, self._on_notify)
        except Exception as exc:  # the connection may be gone already
            log.info("listener connection was already broken: %s", exc)
        finally:
            await self._pool.release(conn)

    async def _state(self, conn: Any, stream: str, for_update: bool = False) -> StreamState | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await conn.fetchrow(
            f"SELECT {STREAM_COLUMNS} FROM {self._s}.events_streams WHERE stream = $1{lock}",
            stream,
        )
        return None if row is None else _stream_state(row)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        with _engine_errors():
            async with self._pool.acquire() as conn:
                yield conn


def _engine_errors() -> AbstractContextManager[None]:
    """PostgreSQL failures of the event log on the catalogue (see backends/failures.py)."""
    return postgres_errors("event")


def _found_arrays(row: Any) -> tuple[list[Any], ...]:
    """The columns of already stored ids (empty lists when none)."""
    names = ("found_ids", "found_streams", "found_revisions", "found_positions")
    return tuple(row[name] or [] for name in names)


def _stream_state(row: Any) -> StreamState:
    return StreamState(
        stream=row["stream"],
        current_revision=row["current_revision"],
        first_revision=row["first_revision"],
        deleted=row["deleted"],
        custom=json.loads(row["custom"]),
        created_at=row["created_at"],
    )


def _recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(
        event_id=row["event_id"],
        stream=row["stream"],
        revision=row["revision"],
        position=row["position"],
        type=row["type"],
        data=NO_DATA if row["data"] is None else json.loads(row["data"]),
        metadata=json.loads(row["metadata"]),
        recorded_at=row["recorded_at"],
    )


async def open_event_log(
    url: str, settings: Settings, connections: Connections
) -> PostgresEventLog:
    """The event log of a postgresql:// URL in schema `?schema=` (public); `?poll_ms=` (1000)."""
    with _engine_errors():
        pool = await connections.postgres(url)
    schema = schema_of(url)
    store = PostgresEventLog(pool, schema, int(url_option(url, "poll_ms", "1000")) / 1000)
    await store.migrate()
    return store
