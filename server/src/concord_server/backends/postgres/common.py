"""What every PostgreSQL store shares: the schema option and the map of connection failures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from concord_server.backends.connections import url_option
from concord_server.errors import ConcordError, ErrorCode

SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
CONNECTION_FAILURES = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    OSError,
    TimeoutError,
)


def schema_of(url: str) -> str:
    """The `?schema=` option of a postgresql:// URL (default `public`), a plain identifier."""
    schema = url_option(url, "schema", "public")
    if not SCHEMA_NAME.match(schema):
        raise ConcordError(
            ErrorCode.INVALID_ARGUMENT, f"PostgreSQL schema {schema!r} is not a plain identifier"
        )
    return schema


@contextmanager
def unavailable_when_down(what: str) -> Iterator[None]:
    """Turns connection failures into UNAVAILABLE naming the storage (`what`)."""
    try:
        yield
    except CONNECTION_FAILURES as exc:
        raise ConcordError(
            ErrorCode.UNAVAILABLE, f"{what} storage (PostgreSQL) is unavailable: {exc}"
        ) from exc
