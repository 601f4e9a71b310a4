"""Idempotency records in PostgreSQL: one row per key with an expiry, swept now and then."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.postgres.common import lock_ddl, postgres_errors
from concord_server.config import Settings
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.idempotency import IdempotencyRecord, IdempotencyStore

SWEEP_INTERVAL_SECONDS = 60.0
_CLAIM_ATTEMPTS = 5
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresIdempotencyStore:
    """Table `idempotency_keys` in one schema, shared by every instance on the database."""

    def __init__(self, pool: Any, schema: str) -> None:
        self._pool = pool
        self._schema = schema
        self._table = f'"{schema}".idempotency_keys'
        self._last_sweep = 0.0

    async def create_schema(self) -> None:
        """Creates the schema and table if missing, serialised across instances."""
        with postgres_errors("idempotency"):
            async with self._pool.acquire() as conn, conn.transaction():
                await lock_ddl(conn)
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
                await conn.execute(
                    f"""CREATE TABLE IF NOT EXISTS {self._table} (
                    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, answer BYTEA,
                    owner TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)"""
                )
                await conn.execute(
                    f"""CREATE INDEX IF NOT EXISTS idempotency_keys_expiry
                    ON {self._table} (expires_at)"""
                )

    async def begin(
        self, key: str, fingerprint: str, owner: str, lease: timedelta
    ) -> IdempotencyRecord | None:
        """Inserts a marker (`ON CONFLICT DO NOTHING`, expired rows first deleted) or reads."""
        await self._maybe_sweep()
        with postgres_errors("idempotency"):
            async with self._pool.acquire() as conn:
                for _ in range(_CLAIM_ATTEMPTS):
                    claimed = await self._claim(conn, key, fingerprint, owner, lease)
                    if claimed:
                        return None
                    row = await conn.fetchrow(
                        f"SELECT fingerprint, answer FROM {self._table} "
                        "WHERE key = $1 AND expires_at > now()",
                        key,
                    )
                    if row is not None:
                        return IdempotencyRecord(row["fingerprint"], row["answer"])
        raise ConcordError(ErrorCode.UNAVAILABLE, "idempotency key is contended; retry")

    async def _claim(
        self, conn: Any, key: str, fingerprint: str, owner: str, lease: timedelta
    ) -> bool:
        async with conn.transaction():
            await conn.execute(
                f"DELETE FROM {self._table} WHERE key = $1 AND expires_at <= now()", key
            )
            status: str = await conn.execute(
                f"INSERT INTO {self._table} (key, fingerprint, answer, owner, expires_at) "
                "VALUES ($1, $2, NULL, $3, now() + $4) ON CONFLICT (key) DO NOTHING",
                key,
                fingerprint,
                owner,
                lease,
            )
        return status.endswith(" 1")

    async def complete(self, key: str, fingerprint: str, answer: bytes, ttl: timedelta) -> None:
        """Stores the answer for `ttl`, replacing the marker."""
        with postgres_errors("idempotency"):
            await self._pool.execute(
                f"INSERT INTO {self._table} (key, fingerprint, answer, owner, expires_at) "
                "VALUES ($1, $2, $3, '', now() + $4) ON CONFLICT (key) DO UPDATE SET "
                "fingerprint = EXCLUDED.fingerprint, answer = EXCLUDED.answer, owner = '', "
                "expires_at = EXCLUDED.expires_at",
                key,
                fingerprint,
                answer,
                ttl,
            )

    async def release(self, key: str, owner: str) -> None:
        """Deletes the row while it is this owner's marker."""
        with postgres_errors("idempotency"):
            await self._pool.execute(
                f"DELETE FROM {self._table} WHERE key = $1 AND owner = $2 AND answer IS NULL",
                key,
                owner,
            )

    async def _maybe_sweep(self) -> None:
        """Deletes expired rows at most once a minute per process."""
        if time.monotonic() - self._last_sweep < SWEEP_INTERVAL_SECONDS:
            return
        self._last_sweep = time.monotonic()
        with postgres_errors("idempotency"):
            await self._pool.execute(f"DELETE FROM {self._table} WHERE expires_at <= now()")

    async def ping(self) -> None:
        """Raises UNAVAILABLE when PostgreSQL does not answer."""
        with postgres_errors("idempotency"):
            await self._pool.fetchval("SELECT 1")


async def open_idempotency_store(
    url: str, settings: Settings, connections: Connections
) -> IdempotencyStore:
    """Opens the store for a postgresql:// URL; `?schema=` picks the schema (default public)."""
    schema = url_option(url, "schema", "public")
    if not _IDENTIFIER.match(schema):
        raise ConcordError(ErrorCode.INVALID_ARGUMENT, f"invalid PostgreSQL schema {schema!r}")
    with postgres_errors("idempotency"):
        pool = await connections.postgres(url)
    store = PostgresIdempotencyStore(pool, schema)
    await store.create_schema()
    return store
