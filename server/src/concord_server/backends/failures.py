"""Storage failures on the error catalogue: every driver's connection-level failure is one
retryable UNAVAILABLE (with Retry-After), any other driver error an INTERNAL in our own words.

Messages name the capability and the engine, never an address, a file path or the engine's own
text; the log keeps the driver's exception for operators (docs/storage/outages.md).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import AbstractContextManager

import asyncpg
import httpx
from redis import exceptions as redis_errors

from concord_server.errors import ConcordError, ErrorCode

log = logging.getLogger("concord.storage")

RETRY_AFTER_SECONDS = 1
UNAVAILABLE_REASON = "storage_unavailable"
ENGINE_NAMES = {"postgresql": "PostgreSQL", "redis": "Redis", "etcd": "etcd", "sqlite": "SQLite"}
LOG_EVERY_SECONDS = 10.0

CANNOT_CONNECT = "cannot connect"
CONNECTION_LOST = "the connection was lost"
TIMED_OUT = "it did not answer in time"
NOT_SERVING = "it is starting up, shutting down or recovering"
REFUSED = "it refused the connection (credentials or database)"
EXHAUSTED = "it is out of connections or resources"
CONFLICT = "it aborted the transaction over a conflict"
BUSY = "the database file is busy"
FILE_FAILED = "the database file cannot be read or written"
SYSTEM_ERROR = "it reported a system error"

# SQLite primary result codes that say "not now" rather than "wrong SQL": BUSY, LOCKED, NOMEM,
# READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_BUSY = {5, 6}
_SQLITE_FILE = {7, 8, 10, 13, 14, 15}

# SQLSTATE classes of PostgreSQL errors raised when a connection cannot be used.
_PG_CLASSES = {
    "08": CONNECTION_LOST,  # connection exception
    "28": REFUSED,  # invalid authorization specification
    "3D": REFUSED,  # invalid catalog name (no such database)
    "40": CONFLICT,  # transaction rollback: serialization failure, deadlock
    "53": EXHAUSTED,  # insufficient resources: too many connections, disk full
    "57": NOT_SERVING,  # operator intervention: shutdown, crash recovery, cancelled query
    "58": SYSTEM_ERROR,  # system error: I/O
}

_DRIVER_ERRORS = (asyncpg.PostgresError, redis_errors.RedisError, sqlite3.Error, httpx.HTTPError)


def _postgres(exc: BaseException) -> str | None:
    if isinstance(exc, asyncpg.PostgresError):
        return _PG_CLASSES.get(str(getattr(exc, "sqlstate", "") or "")[:2])
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.exceptions.InternalClientError):
        # A closed or released connection, or a protocol left "failed" by a lost connection
        # ("cannot switch to state ..." while rolling back on a killed server).
        return CONNECTION_LOST
    return None


def _redis(exc: BaseException) -> str | None:
    if isinstance(exc, redis_errors.BusyLoadingError):
        return NOT_SERVING
    if isinstance(exc, redis_errors.AuthenticationError | redis_errors.AuthorizationError):
        return REFUSED
    if isinstance(exc, redis_errors.MaxConnectionsError):
        return EXHAUSTED
    if isinstance(exc, redis_errors.TimeoutError):
        return TIMED_OUT
    if isinstance(exc, redis_errors.ConnectionError):
        return CANNOT_CONNECT if "connecting to" in str(exc) else CONNECTION_LOST
    if isinstance(
        exc,
        redis_errors.ReadOnlyError | redis_errors.TryAgainError | redis_errors.ClusterDownError,
    ):
        return NOT_SERVING
    return None


def _sqlite(exc: BaseException) -> str | None:
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc):
        return NOT_SERVING  # a call that arrives while the server shuts down
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    code = int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code in _SQLITE_BUSY or "locked" in str(exc):
        return BUSY
    return FILE_FAILED if code in _SQLITE_FILE else None


def _network(exc: BaseException) -> str | None:
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return TIMED_OUT
    if isinstance(exc, httpx.ConnectError | ConnectionRefusedError):
        return CANNOT_CONNECT
    if isinstance(exc, httpx.TransportError | ConnectionError | EOFError):
        return CONNECTION_LOST
    if isinstance(exc, OSError):
        return CANNOT_CONNECT
    return None


def connection_failure(exc: BaseException) -> str | None:
    """Why the engine cannot serve now, in our words, when `exc` is a connection-level failure
    of a storage driver (refused, lost, timed out, starting up, shutting down, busy); else None."""
    for classify in (_postgres, _redis, _sqlite, _network):
        why = classify(exc)
        if why is not None:
            return why
    return None


def engine_name(engine: str) -> str:
    """The display name of an engine scheme: `postgresql` -> `PostgreSQL`."""
    return ENGINE_NAMES.get(engine, engine)


def unavailable(what: str, engine: str, why: str) -> ConcordError:
    """The retryable UNAVAILABLE of a storage engine that cannot serve now."""
    return ConcordError(
        ErrorCode.UNAVAILABLE,
        f"{what} storage ({engine_name(engine)}) is unavailable: {why}; retry later",
        {"reason": UNAVAILABLE_REASON, "engine": engine},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def as_contract_error(exc: Exception, what: str, engine: str) -> ConcordError | None:
    """The contract error of a driver's exception, or None for one that is not a driver's."""
    why = connection_failure(exc)
    if why is not None:
        _note(what, engine, exc)
        return unavailable(what, engine, why)
    if isinstance(exc, _DRIVER_ERRORS):
        log.error("%s storage (%s) failed", what, engine_name(engine), exc_info=exc)
        return ConcordError(
            ErrorCode.INTERNAL, f"{what} storage ({engine_name(engine)}) failed", {"engine": engine}
        )
    return None


class storage_errors(AbstractContextManager[None]):
    """Maps the driver exceptions raised inside onto the catalogue (`as_contract_error`).
    A class, not a generator: every storage call enters one."""

    __slots__ = ("_engine", "_what")

    def __init__(self, what: str, engine: str) -> None:
        self._what = what
        self._engine = engine

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if not isinstance(exc, Exception) or isinstance(exc, ConcordError):
            return
        error = as_contract_error(exc, self._what, self._engine)
        if error is not None:
            raise error from exc


_last_logged: dict[tuple[str, str, str], float] = {}


def _note(what: str, engine: str, exc: BaseException) -> None:
    """Logs a connection failure, at most once per LOG_EVERY_SECONDS per storage and kind."""
    key = (what, engine, type(exc).__name__)
    now = time.monotonic()
    if now - _last_logged.get(key, -LOG_EVERY_SECONDS) >= LOG_EVERY_SECONDS:
        _last_logged[key] = now
        log.warning(
            "%s storage (%s) is unavailable: %s: %s",
            what,
            engine_name(engine),
            type(exc).__name__,
            exc,
        )
