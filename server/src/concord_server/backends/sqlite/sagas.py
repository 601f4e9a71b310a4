"""SQLite saga store: durable, shared by processes on one host through the same file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any

from concord_server.backends.connections import Connections
from concord_server.backends.failures import storage_errors
from concord_server.backends.sqlite.database import SqliteDatabase
from concord_server.config import Settings
from concord_server.ports.sagas import (
    SagaRecord,
    SagaState,
    SagaStore,
    saga_from_document,
    saga_to_document,
)

# Compare-and-set is one UPDATE ... WHERE version, run on the file's writer thread.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sagas (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        saga_id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        version INTEGER NOT NULL,
        next_run_at INTEGER,
        locked_until INTEGER,
        ready_task_type TEXT,
        ready_since INTEGER,
        body TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS sagas_due ON sagas (next_run_at) WHERE next_run_at IS NOT NULL",
    """CREATE INDEX IF NOT EXISTS sagas_ready ON sagas (ready_task_type, ready_since)
        WHERE ready_task_type IS NOT NULL""",
    "CREATE INDEX IF NOT EXISTS sagas_state ON sagas (state, seq)",
)
_COLUMNS = "seq, version, body"


def to_micros(dt: datetime | None) -> int | None:
    """Microseconds since the epoch (ordered, exact), or None."""
    if dt is None:
        return None
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def index_values(saga: SagaRecord) -> tuple[Any, ...]:
    """The indexed columns of a saga: state, next_run_at, locked_until, ready type and since."""
    ready = saga.ready_task_type
    return (
        saga.state.value,
        to_micros(saga.next_run_at),
        to_micros(saga.locked_until),
        ready,
        to_micros(saga.updated_at) if ready is not None else None,
    )


def saga_of(row: Any) -> SagaRecord:
    """A saga from a row of `_COLUMNS`."""
    return saga_from_document(json.loads(row[2]), version=row[1], seq=row[0])


def sqlite_errors() -> AbstractContextManager[None]:
    """SQLite failures of this store on the catalogue: UNAVAILABLE when the file is busy or
    cannot be read or written, INTERNAL otherwise (see backends/failures.py)."""
    return storage_errors("saga", "sqlite")


class SqliteSagaStore:
    """Table `sagas`: indexed scheduling columns plus the whole record as a JSON document."""

    backend = "sqlite"

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def create_schema(self) -> None:
        """Creates the table and indexes if missing."""

        def create(db: sqlite3.Connection) -> None:
            for statement in SCHEMA:
                db.execute(statement)

        with sqlite_errors():
            await self._db.write(create)

    async def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Rows of a read-only query."""
        with sqlite_errors():
            return await self._db.read(lambda db: db.execute(sql, params).fetchall())

    async def _write(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Rows a writing statement returns (RETURNING)."""
        with sqlite_errors():
            return await self._db.write(lambda db: db.execute(sql, params).fetchall())

    async def insert(self, saga: SagaRecord) -> SagaRecord | None:
        """Inserts version 1 unless the id exists; `seq` comes from AUTOINCREMENT."""
        sql = (
            "INSERT INTO sagas (saga_id, state, next_run_at, locked_until, ready_task_type, "
            "ready_since, version, body) VALUES (?, ?, ?, ?, ?, ?, 1, ?) "
            "ON CONFLICT (saga_id) DO NOTHING RETURNING seq"
        )
        body = json.dumps(saga_to_document(saga))
        rows = await self._write(sql, (saga.saga_id, *index_values(saga), body))
        return replace(saga, version=1, seq=rows[0][0]) if rows else None

    async def get(self, saga_id: str) -> SagaRecord | None:
        """The saga with this id."""
        rows = await self._rows(f"SELECT {_COLUMNS} FROM sagas WHERE saga_id = ?", (saga_id,))
        return saga_of(rows[0]) if rows else None

    async def save(self, saga: SagaRecord) -> SagaRecord | None:
        """Compare-and-set on version, in one UPDATE."""
        sql = (
            "UPDATE sagas SET state = ?, next_run_at = ?, locked_until = ?, ready_task_type = ?, "
            "ready_since = ?, version = version + 1, body = ? WHERE saga_id = ? AND version = ? "
            f"RETURNING {_COLUMNS}"
        )
        body = json.dumps(saga_to_document(saga))
        params = (*index_values(saga), body, saga.saga_id, saga.version)
        rows = await self._write(sql, params)
        return saga_of(rows[0]) if rows else None

    async def list_sagas(
        self, *, state: SagaState | None, limit: int, before_seq: int | None
    ) -> list[SagaRecord]:
        """Newest first."""
        clauses: list[str] = ["1"]
        params: list[Any] = []
        if state is not None:
            clauses.append("state = ?")
            params.append(state.value)
        if before_seq is not None:
            clauses.append("seq < ?")
            params.append(before_seq)
        where = " AND ".join(clauses)
        sql = f"SELECT {_COLUMNS} FROM sagas WHERE {where} ORDER BY seq DESC LIMIT ?"
        return [saga_of(row) for row in await self._rows(sql, (*params, limit))]

    async def due(self, now: datetime, limit: int) -> list[SagaRecord]:
        """Due sagas whose claim is free or expired, earliest first."""
        sql = (
            f"SELECT {_COLUMNS} FROM sagas WHERE next_run_at <= ? "
            "AND (locked_until IS NULL OR locked_until <= ?) ORDER BY next_run_at LIMIT ?"
        )
        stamp = to_micros(now)
        return [saga_of(row) for row in await self._rows(sql, (stamp, stamp, limit))]

    async def ready_tasks(self, task_types: Sequence[str], limit: int) -> list[SagaRecord]:
        """Sagas with a ready task of these types, the longest waiting first."""
        if not task_types or limit <= 0:
            return []
        marks = ", ".join("?" for _ in task_types)
        sql = (
            f"SELECT {_COLUMNS} FROM sagas WHERE ready_task_type IN ({marks}) "
            "ORDER BY ready_since, seq LIMIT ?"
        )
        return [saga_of(row) for row in await self._rows(sql, (*task_types, limit))]

    async def check(self) -> None:
        """Runs a trivial query."""
        await self._rows("SELECT 1", ())


async def open_saga_store(url: str, settings: Settings, connections: Connections) -> SagaStore:
    """Opens the saga store in the SQLite file of a sqlite:// URL, creating its table."""
    store = SqliteSagaStore(await connections.sqlite(settings.sqlite_path(url)))
    await store.create_schema()
    return store
