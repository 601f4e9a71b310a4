"""PostgreSQL event log: a one-row head counter serialises appends, so positions are gap-free;
one append is one call of a server-side function (one round trip)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from concord_server import json_text
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

# One append is one call of this function (one round trip, its own transaction): it locks the
# head row, then (each statement with a fresh snapshot, so every earlier append is seen) the
# stream row; it writes only when no event id is stored yet and the expectation holds, and
# otherwise answers the state and the stored ids so the caller can replay or explain.
APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION {s}.events_append(
    p_stream text, p_expected_revision bigint, p_expected_state text, p_ids text[],
    p_types text[], p_data jsonb[], p_metadata jsonb[], p_now timestamptz, p_channel text,
    OUT written boolean, OUT head bigint, OUT base bigint, OUT stream text,
    OUT current_revision bigint, OUT first_revision bigint, OUT deleted boolean,
    OUT custom jsonb, OUT created_at timestamptz, OUT found_ids text[],
    OUT found_streams text[], OUT found_revisions bigint[], OUT found_positions bigint[]
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v_live boolean;
    v_first bigint;
    v_created timestamptz;
    v_count bigint := cardinality(p_ids);
BEGIN
    SELECT h.position INTO head FROM {s}.events_head AS h FOR UPDATE;
    SELECT t.stream, t.current_revision, t.first_revision, t.deleted, t.custom, t.created_at
        INTO stream, current_revision, first_revision, deleted, custom, created_at
        FROM {s}.events_streams AS t WHERE t.stream = p_stream FOR UPDATE;
    SELECT array_agg(l.event_id), array_agg(l.stream), array_agg(l.revision),
            array_agg(l.position)
        INTO found_ids, found_streams, found_revisions, found_positions
        FROM unnest(p_ids) AS i(id)
        JOIN LATERAL (SELECT * FROM {s}.events_log AS f WHERE f.event_id = i.id LIMIT 1) AS l
            ON true;
    v_live := stream IS NOT NULL AND NOT deleted AND current_revision >= first_revision;
    written := found_ids IS NULL AND CASE
        WHEN p_expected_revision IS NOT NULL THEN v_live AND current_revision = p_expected_revision
        WHEN p_expected_state = 'NO_STREAM' THEN NOT v_live
        WHEN p_expected_state = 'STREAM_EXISTS' THEN v_live
        ELSE true END;
    IF NOT written THEN
        RETURN;
    END IF;
    base := coalesce(current_revision, -1) + 1;
    v_first := CASE WHEN v_live THEN first_revision ELSE base END;
    v_created := CASE WHEN v_live THEN created_at ELSE p_now END;
    INSERT INTO {s}.events_log (event_id, stream, revision, position, type, data, metadata,
            recorded_at)
        SELECT e.id, p_stream, base + e.i - 1, head + e.i, e.type, e.data, e.metadata, p_now
        FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS e(id, type, data,
            metadata, i);
    INSERT INTO {s}.events_streams AS t (stream, current_revision, first_revision, deleted,
            created_at)
        VALUES (p_stream, base + v_count - 1, v_first, false, v_created)
        ON CONFLICT (stream) DO UPDATE SET current_revision = excluded.current_revision,
            first_revision = excluded.first_revision, deleted = false,
            created_at = excluded.created_at;
    head := head + v_count;
    UPDATE {s}.events_head SET position = head;
    PERFORM pg_notify(p_channel, head::text || ' ' || p_stream);
END
$fn$;
"""
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
    2: APPEND_FUNCTION,
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
        """Appends in one round trip (see APPEND_FUNCTION); a refused call writes nothing."""
        async with self._connection() as conn:
            row = await conn.fetchrow(
                f"SELECT * FROM {self._s}.events_append($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                stream,
                expected.revision,
                expected.state.value,
                [e.event_id for e in events],
                [e.type for e in events],
                [None if e.data is NO_DATA else _json(e.data) for e in events],
                [_json(dict(e.metadata)) for e in events],
                now,
                self._channel,
            )
        if not row["written"]:
            return _refused_append(stream, events, expected, row)
        base, position = row["base"], row["head"]
        last_revision = base + len(events) - 1
        self._changes.publish(LogChange(position, stream))
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
                _json(dict(custom)),
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


def _json(value: Any) -> str:
    """A JSON document for a jsonb parameter (orjson where installed)."""
    return json_text.dumps(value).decode()


def _engine_errors() -> AbstractContextManager[None]:
    """PostgreSQL failures of the event log on the catalogue (see backends/failures.py)."""
    return postgres_errors("event")


def _refused_append(
    stream: str, events: Sequence[NewEvent], expected: Expectation, row: Any
) -> AppendResult:
    """The replayed result of a retry, or the error of a refused append."""
    state = None if row["stream"] is None else _stream_state(row)
    stored = [StoredId(*ids) for ids in zip(*_found_arrays(row), strict=True)]
    replay = replayed_append(stream, events, expected, stored, state)
    if replay is not None:
        return replay
    expected.verify(state)
    raise AssertionError("events_append refused an append that its expectation allows")


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
        custom=json_text.loads(row["custom"]),
        created_at=row["created_at"],
    )


def _recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(
        event_id=row["event_id"],
        stream=row["stream"],
        revision=row["revision"],
        position=row["position"],
        type=row["type"],
        data=NO_DATA if row["data"] is None else json_text.loads(row["data"]),
        metadata=json_text.loads(row["metadata"]),
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
