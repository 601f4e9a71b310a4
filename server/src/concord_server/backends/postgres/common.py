"""What every PostgreSQL store shares: the schema option and the map of driver failures."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from typing import Any

from concord_server.backends.connections import url_option
from concord_server.backends.failures import storage_errors
from concord_server.errors import ConcordError, ErrorCode

SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def schema_of(url: str) -> str:
    """The `?schema=` option of a postgresql:// URL (default `public`), a plain identifier."""
    schema = url_option(url, "schema", "public")
    if not SCHEMA_NAME.match(schema):
        raise ConcordError(
            ErrorCode.INVALID_ARGUMENT, f"PostgreSQL schema {schema!r} is not a plain identifier"
        )
    return schema


def postgres_errors(what: str) -> AbstractContextManager[None]:
    """PostgreSQL failures of the `what` storage on the catalogue: UNAVAILABLE when the server
    cannot serve now (down, starting, shutting down, connection lost), INTERNAL otherwise."""
    return storage_errors(what, "postgresql")


async def lock_ddl(conn: Any) -> None:
    """Serialises the schema changes of every store and instance on the database until the
    transaction ends: concurrent `CREATE SCHEMA IF NOT EXISTS` of one schema would otherwise
    fail with a unique violation (stores open at the same time at start-up)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('concord.ddl'))")
