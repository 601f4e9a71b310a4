"""Locks in PostgreSQL: a table of grants and a table of per-name token counters, changed in
transactions that lock the name's counter row first. Times come from the database clock (now()),
so instances with skewed clocks agree; changes are announced with NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.failures import TIMED_OUT, unavailable
from concord_server.backends.postgres.common import lock_ddl, postgres_errors
from concord_server.config import Settings
from concord_server.errors import invalid_argument
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

logger = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")
_COLUMNS = "name, owner, fencing_token, acquired_at, expires_at, ttl_ms, expiry_reported"


def _record(row: asyncpg.Record) -> LockRecord:
    return LockRecord(
        row["name"],
        row["owner"],
        row["fencing_token"],
        row["acquired_at"],
        row["expires_at"],
        timedelta(milliseconds=row["ttl_ms"]),
    )


def _payload(kind: LockEventType, lock: LockRecord, at: datetime) -> str:
    """A NOTIFY payload (JSON, well under the 8000-byte limit)."""
    return json.dumps(
        {
            "type": kind.value,
            "name": lock.name,
            "owner": lock.owner,
            "token": lock.fencing_token,
            "acquired_at": lock.acquired_at.isoformat(),
            "expires_at": lock.expires_at.isoformat(),
            "ttl_ms": lock.ttl // timedelta(milliseconds=1),
            "at": at.isoformat(),
        }
    )


def _event(payload: str) -> LockEvent:
    data = json.loads(payload)
    lock = LockRecord(
        data["name"],
        data["owner"],
        int(data["token"]),
        datetime.fromisoformat(data["acquired_at"]),
        datetime.fromisoformat(data["expires_at"]),
        timedelta(milliseconds=int(data["ttl_ms"])),
    )
    return LockEvent(LockEventType(data["type"]), lock, datetime.fromisoformat(data["at"]))


def _engine_errors() -> contextlib.AbstractContextManager[None]:
    """PostgreSQL failures of this store on the catalogue (see backends/failures.py)."""
    return postgres_errors("lock")


def _refusal(row: asyncpg.Record | None, owner: str, token: int, now: datetime) -> Refusal | None:
    """Why the caller does not hold the grant in `row`, or None when it does."""
    if row is None or (row["owner"], row["fencing_token"]) != (owner, token):
        return Refusal(RefusalReason.NOT_HELD)
    if row["expires_at"] <= now:
        return Refusal(RefusalReason.EXPIRED, row["expires_at"])
    return None


class _Refused(Exception):
    """Rolls back an acquire that found the lock held, undoing its token increment."""

    def __init__(self, conflict: Conflict) -> None:
        super().__init__(conflict.name)
        self.conflict = conflict


class PostgresLockStore:
    """A LockStore in one PostgreSQL schema, shared safely by any number of instances."""

    def __init__(self, pool: Any, schema: str, queue_limit: int = 1000) -> None:
        self._pool = pool
        self._schema = schema
        self._tokens = f'"{schema}".lock_tokens'
        self._locks = f'"{schema}".locks'
        self._channel = f"concord_locks_{schema}"
        self._events: Broadcaster[LockEvent] = Broadcaster(queue_limit)
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def create_tables(self) -> None:
        """Creates the schema and tables if missing (serialized by an advisory lock)."""
        async with self._transaction() as conn:
            await lock_ddl(conn)
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._tokens} ("
                ' name text COLLATE "C" PRIMARY KEY, last_token bigint NOT NULL)'
            )
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._locks} ("
                ' name text COLLATE "C" PRIMARY KEY, owner text NOT NULL,'
                " fencing_token bigint NOT NULL, acquired_at timestamptz NOT NULL,"
                " expires_at timestamptz NOT NULL, ttl_ms bigint NOT NULL,"
                " expiry_reported boolean NOT NULL DEFAULT false)"
            )
            await conn.execute(
                f"CREATE INDEX IF NOT EXISTS locks_unreported_expiry ON {self._locks}"
                " (expires_at) WHERE NOT expiry_reported"
            )

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        with _engine_errors():
            async with self._pool.acquire() as conn, conn.transaction():
                yield conn

    async def _holder_row(self, conn: Any, name: str) -> asyncpg.Record | None:
        return await conn.fetchrow(f"SELECT {_COLUMNS} FROM {self._locks} WHERE name = $1", name)

    async def _notify(self, conn: Any, events: list[LockEvent]) -> None:
        payloads = [_payload(e.type, e.lock, e.occurred_at) for e in events]
        await conn.execute(
            "SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS u(p, i) ORDER BY i",
            self._channel,
            payloads,
        )

    async def try_acquire(self, name: str, owner: str, ttl: timedelta) -> LockRecord | Conflict:
        """Grants the lock if it is free, expired or held by `owner`."""
        try:
            return await self._grant(name, owner, ttl)
        except _Refused as refused:
            return refused.conflict

    async def _grant(self, name: str, owner: str, ttl: timedelta) -> LockRecord:
        """Takes the next token and writes the grant, or raises _Refused to roll back."""
        async with self._transaction() as conn:
            token, now = await conn.fetchrow(
                f"INSERT INTO {self._tokens} AS t (name, last_token) VALUES ($1, 1)"
                " ON CONFLICT (name) DO UPDATE SET last_token = t.last_token + 1"
                " RETURNING last_token, now()",
                name,
            )
            row = await self._holder_row(conn, name)
            events: list[LockEvent] = []
            if row is not None:
                if row["expires_at"] > now and row["owner"] != owner:
                    raise _Refused(Conflict(name, row["expires_at"]))
                if row["expires_at"] <= now and not row["expiry_reported"]:
                    events.append(LockEvent(LockEventType.EXPIRED, _record(row), row["expires_at"]))
            record = LockRecord(name, owner, token, now, now + ttl, ttl)
            await conn.execute(
                f"INSERT INTO {self._locks} ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, false)"
                " ON CONFLICT (name) DO UPDATE SET owner = $2, fencing_token = $3,"
                " acquired_at = $4, expires_at = $5, ttl_ms = $6, expiry_reported = false",
                name,
                owner,
                token,
                now,
                record.expires_at,
                ttl // timedelta(milliseconds=1),
            )
            events.append(LockEvent(LockEventType.ACQUIRED, record, now))
            await self._notify(conn, events)
        return record

    async def _locked_holder(self, conn: Any, name: str) -> tuple[datetime, asyncpg.Record | None]:
        """Locks the name's counter row; returns now() and the current grant."""
        now = await conn.fetchval(
            f"SELECT now() FROM {self._tokens} WHERE name = $1 FOR UPDATE", name
        )
        if now is None:
            return datetime.min, None
        return now, await self._holder_row(conn, name)

    async def renew(
        self, name: str, owner: str, fencing_token: int, ttl: timedelta
    ) -> LockRecord | Refusal:
        """Extends the holder's grant to `ttl` from now."""
        async with self._transaction() as conn:
            now, row = await self._locked_holder(conn, name)
            refusal = _refusal(row, owner, fencing_token, now)
            if refusal is not None:
                return refusal
            updated = await conn.fetchrow(
                f"UPDATE {self._locks} SET expires_at = $2, ttl_ms = $3 WHERE name = $1"
                f" RETURNING {_COLUMNS}",
                name,
                now + ttl,
                ttl // timedelta(milliseconds=1),
            )
        return _record(updated)

    async def release(self, name: str, owner: str, fencing_token: int) -> LockRecord | Refusal:
        """Ends the holder's grant."""
        async with self._transaction() as conn:
            now, row = await self._locked_holder(conn, name)
            refusal = _refusal(row, owner, fencing_token, now)
            if refusal is not None:
                return refusal
            assert row is not None
            await conn.execute(f"DELETE FROM {self._locks} WHERE name = $1", name)
            record = _record(row)
            await self._notify(conn, [LockEvent(LockEventType.RELEASED, record, now)])
        return record

    async def get(self, name: str) -> LockRecord | None:
        """The current unexpired grant, if any."""
        with _engine_errors():
            row = await self._pool.fetchrow(
                f"SELECT {_COLUMNS} FROM {self._locks} WHERE name = $1 AND expires_at > now()",
                name,
            )
        return _record(row) if row is not None else None

    async def list(self, prefix: str, after: str, limit: int) -> list[LockRecord]:
        """Unexpired grants by prefix, in name order, after `after`."""
        with _engine_errors():
            rows = await self._pool.fetch(
                f"SELECT {_COLUMNS} FROM {self._locks} WHERE name > $1 AND name >= $2"
                " AND starts_with(name, $2) AND expires_at > now() ORDER BY name LIMIT $3",
                after,
                prefix,
                limit,
            )
        return [_record(row) for row in rows]

    async def subscribe(self, match: EventFilter) -> Subscription[LockEvent]:
        """Events from every instance on this database that `match` accepts."""
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="locks-pg-listener")
        try:
            async with asyncio.timeout(5):
                await self._listening.wait()
        except TimeoutError:
            raise unavailable("lock notification", "postgresql", TIMED_OUT) from None
        return self._events.subscribe(match)

    async def _listen(self) -> None:
        """Keeps one pooled connection on LISTEN, reconnecting with backoff when it drops."""
        delay = 0.1
        while True:
            try:
                await self._listen_until_lost()
                delay = 0.1
            except Exception as exc:  # any failure: reconnect after the pause
                logger.warning("lock notifications interrupted: %s", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _listen_until_lost(self) -> None:
        """Relays notifications until the LISTEN connection terminates."""
        lost = asyncio.Event()
        async with self._pool.acquire() as conn:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(self._channel, self._relay)
            self._listening.set()
            try:
                await lost.wait()
            finally:
                self._listening.clear()
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await conn.remove_listener(self._channel, self._relay)

    def _relay(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            self._events.publish(_event(str(payload)))
        except (ValueError, KeyError) as exc:
            logger.warning("ignored a malformed lock notification: %s", exc)

    async def sweep_expired(self, limit: int = 100) -> int:
        """Announces newly expired grants and forgets those expired longer than the retention."""
        async with self._transaction() as conn:
            rows = await conn.fetch(
                f"WITH due AS (SELECT l.name FROM {self._locks} l"
                f" JOIN {self._tokens} t ON t.name = l.name"
                " WHERE NOT l.expiry_reported AND l.expires_at <= now()"
                " ORDER BY l.expires_at LIMIT $1 FOR UPDATE OF l, t SKIP LOCKED)"
                f" UPDATE {self._locks} l SET expiry_reported = true FROM due"
                " WHERE l.name = due.name RETURNING l.*",
                limit,
            )
            events = [LockEvent(LockEventType.EXPIRED, _record(r), r["expires_at"]) for r in rows]
            if events:
                await self._notify(conn, sorted(events, key=lambda e: e.occurred_at))
            await conn.execute(
                f"DELETE FROM {self._locks} l USING (SELECT o.name FROM {self._locks} o"
                f" JOIN {self._tokens} t ON t.name = o.name"
                " WHERE o.expiry_reported AND o.expires_at <= now() - $1::interval"
                " LIMIT $2 FOR UPDATE OF o, t SKIP LOCKED) old WHERE l.name = old.name",
                EXPIRED_GRANT_RETENTION,
                limit,
            )
        return len(rows)

    async def check(self) -> None:
        """Raises UNAVAILABLE when PostgreSQL does not answer."""
        with _engine_errors():
            await self._pool.fetchval("SELECT 1")

    async def close(self) -> None:
        """Stops the LISTEN connection (the pool stays open)."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None


async def open_lock_store(
    url: str, settings: Settings, connections: Connections
) -> PostgresLockStore:
    """The store in the `schema` option's schema (default `public`) of a postgresql:// URL."""
    schema = url_option(url, "schema", "public")
    if not _SCHEMA_NAME.fullmatch(schema):
        raise invalid_argument(f"schema {schema!r} is not a plain SQL identifier", "locks_url")
    with _engine_errors():
        pool = await connections.postgres(url)
    store = PostgresLockStore(pool, schema, settings.ws_max_queue)
    await store.create_tables()
    return store
