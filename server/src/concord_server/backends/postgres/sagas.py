"""PostgreSQL saga store: durable and shared by every server instance on the same database."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from concord_server.backends.connections import Connections
from concord_server.backends.postgres.common import lock_ddl, postgres_errors, schema_of
from concord_server.config import Settings
from concord_server.ports.sagas import (
    SagaRecord,
    SagaState,
    SagaStore,
    saga_from_document,
    saga_to_document,
)

_COLUMNS = "seq, version, body"


def schema_statements(schema: str) -> list[str]:
    """The DDL of the store in a schema."""
    table = f'"{schema}".sagas'
    return [
        f'CREATE SCHEMA IF NOT EXISTS "{schema}"',
        f"""CREATE TABLE IF NOT EXISTS {table} (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            saga_id TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL,
            version BIGINT NOT NULL,
            next_run_at TIMESTAMPTZ,
            locked_until TIMESTAMPTZ,
            ready_task_type TEXT,
            ready_since TIMESTAMPTZ,
            body JSONB NOT NULL)""",
        f"""CREATE INDEX IF NOT EXISTS sagas_due ON {table} (next_run_at)
            WHERE next_run_at IS NOT NULL""",
        f"""CREATE INDEX IF NOT EXISTS sagas_ready ON {table} (ready_task_type, ready_since)
            WHERE ready_task_type IS NOT NULL""",
        f"CREATE INDEX IF NOT EXISTS sagas_state ON {table} (state, seq)",
    ]


def index_values(saga: SagaRecord) -> tuple[Any, ...]:
    """The indexed columns of a saga: state, next_run_at, locked_until, ready type and since."""
    ready = saga.ready_task_type
    since = saga.updated_at if ready is not None else None
    return (saga.state.value, saga.next_run_at, saga.locked_until, ready, since)


def saga_of(row: Any) -> SagaRecord:
    """A saga from a row of `_COLUMNS` (JSONB arrives as text)."""
    return saga_from_document(json.loads(row["body"]), version=row["version"], seq=row["seq"])


class PostgresSagaStore:
    """Table `sagas` in one schema: indexed scheduling columns plus the record as JSONB."""

    backend = "postgresql"

    def __init__(self, pool: Any, schema: str) -> None:
        self._pool = pool
        self._schema = schema
        self._table = f'"{schema}".sagas'

    async def create_schema(self) -> None:
        """Creates the schema and table if missing, serialised across instances."""
        with postgres_errors("saga"):
            async with self._pool.acquire() as conn, conn.transaction():
                await lock_ddl(conn)
                for statement in schema_statements(self._schema):
                    await conn.execute(statement)

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        with postgres_errors("saga"):
            return list(await self._pool.fetch(sql, *args))

    async def insert(self, saga: SagaRecord) -> SagaRecord | None:
        """Inserts version 1 unless the id exists; `seq` comes from the identity column."""
        sql = (
            f"INSERT INTO {self._table} (saga_id, state, next_run_at, locked_until, "
            "ready_task_type, ready_since, version, body) VALUES ($1, $2, $3, $4, $5, $6, 1, $7) "
            "ON CONFLICT (saga_id) DO NOTHING RETURNING seq"
        )
        body = json.dumps(saga_to_document(saga))
        rows = await self._fetch(sql, saga.saga_id, *index_values(saga), body)
        return replace(saga, version=1, seq=rows[0]["seq"]) if rows else None

    async def get(self, saga_id: str) -> SagaRecord | None:
        """The saga with this id."""
        sql = f"SELECT {_COLUMNS} FROM {self._table} WHERE saga_id = $1"
        rows = await self._fetch(sql, saga_id)
        return saga_of(rows[0]) if rows else None

    async def save(self, saga: SagaRecord) -> SagaRecord | None:
        """Compare-and-set on version, in one UPDATE."""
        sql = (
            f"UPDATE {self._table} SET state = $1, next_run_at = $2, locked_until = $3, "
            "ready_task_type = $4, ready_since = $5, version = version + 1, body = $6 "
            f"WHERE saga_id = $7 AND version = $8 RETURNING {_COLUMNS}"
        )
        body = json.dumps(saga_to_document(saga))
        rows = await self._fetch(sql, *index_values(saga), body, saga.saga_id, saga.version)
        return saga_of(rows[0]) if rows else None

    async def list_sagas(
        self, *, state: SagaState | None, limit: int, before_seq: int | None
    ) -> list[SagaRecord]:
        """Newest first."""
        clauses: list[str] = ["TRUE"]
        args: list[Any] = []
        if state is not None:
            args.append(state.value)
            clauses.append(f"state = ${len(args)}")
        if before_seq is not None:
            args.append(before_seq)
            clauses.append(f"seq < ${len(args)}")
        args.append(limit)
        where = " AND ".join(clauses)
        sql = f"SELECT {_COLUMNS} FROM {self._table} WHERE {where} "
        sql += f"ORDER BY seq DESC LIMIT ${len(args)}"
        return [saga_of(row) for row in await self._fetch(sql, *args)]

    async def due(self, now: datetime, limit: int) -> list[SagaRecord]:
        """Due sagas whose claim is free or expired, earliest first."""
        sql = (
            f"SELECT {_COLUMNS} FROM {self._table} WHERE next_run_at <= $1 "
            "AND (locked_until IS NULL OR locked_until <= $1) ORDER BY next_run_at LIMIT $2"
        )
        return [saga_of(row) for row in await self._fetch(sql, now, limit)]

    async def ready_tasks(self, task_types: Sequence[str], limit: int) -> list[SagaRecord]:
        """Sagas with a ready task of these types, the longest waiting first."""
        if not task_types or limit <= 0:
            return []
        sql = (
            f"SELECT {_COLUMNS} FROM {self._table} WHERE ready_task_type = ANY($1::text[]) "
            "ORDER BY ready_since, seq LIMIT $2"
        )
        return [saga_of(row) for row in await self._fetch(sql, list(task_types), limit)]

    async def check(self) -> None:
        """Runs a trivial query."""
        await self._fetch("SELECT 1")


async def open_saga_store(url: str, settings: Settings, connections: Connections) -> SagaStore:
    """Opens the store for a postgresql:// URL; `?schema=` picks the schema (default public)."""
    schema = schema_of(url)
    with postgres_errors("saga"):
        pool = await connections.postgres(url)
    store = PostgresSagaStore(pool, schema)
    await store.create_schema()
    return store
