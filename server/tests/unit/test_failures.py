"""Storage failures on the catalogue (issue 7, finding 3): every driver's connection-level
failure is a retryable UNAVAILABLE with Retry-After and no engine address in the message; any
other driver error is an INTERNAL in our own words."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis import exceptions as redis_errors

from concord_server.backends import failures
from concord_server.backends.connections import Connections
from concord_server.backends.failures import connection_failure, storage_errors
from concord_server.backends.registry import open_backend
from concord_server.backends.sqlite.database import open_database
from concord_server.catalogue import rule_of
from concord_server.config import Settings
from concord_server.errors import ConcordError, ErrorCode

CONNECTION_FAILURES: list[tuple[BaseException, str]] = [
    # PostgreSQL starting up, shutting down, crashed, recovering
    (asyncpg.CannotConnectNowError("the database system is starting up"), failures.NOT_SERVING),
    (asyncpg.CannotConnectNowError("the database system is shutting down"), failures.NOT_SERVING),
    (asyncpg.exceptions.AdminShutdownError("terminating connection"), failures.NOT_SERVING),
    (asyncpg.exceptions.CrashShutdownError("crash of another process"), failures.NOT_SERVING),
    # a connection lost mid-call, and the protocol state it leaves behind
    (
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        failures.CONNECTION_LOST,
    ),
    (
        asyncpg.exceptions.InternalClientError(
            'cannot switch to state 15; protocol is in the "failed" state'
        ),
        failures.CONNECTION_LOST,
    ),
    (asyncpg.InterfaceError("connection is closed"), failures.CONNECTION_LOST),
    (asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients"), failures.EXHAUSTED),
    (asyncpg.exceptions.InvalidPasswordError("password authentication failed"), failures.REFUSED),
    (asyncpg.exceptions.SerializationError("could not serialize access"), failures.CONFLICT),
    (
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 55432)"),
        failures.CANNOT_CONNECT,
    ),
    (OSError("Multiple exceptions: [Errno 111] Connect call failed"), failures.CANNOT_CONNECT),
    (ConnectionResetError(104, "Connection reset by peer"), failures.CONNECTION_LOST),
    (TimeoutError(), failures.TIMED_OUT),
    # Redis
    (
        redis_errors.ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused."),
        failures.CANNOT_CONNECT,
    ),
    (redis_errors.ConnectionError("Connection closed by server."), failures.CONNECTION_LOST),
    (redis_errors.BusyLoadingError("Redis is loading the dataset in memory"), failures.NOT_SERVING),
    (redis_errors.TimeoutError("Timeout reading from socket"), failures.TIMED_OUT),
    (
        redis_errors.ReadOnlyError("You can't write against a read only replica."),
        failures.NOT_SERVING,
    ),
    (redis_errors.AuthenticationError("invalid password"), failures.REFUSED),
    # etcd's gateway over httpx
    (httpx.ConnectError("[Errno 111] Connection refused"), failures.CANNOT_CONNECT),
    (httpx.ReadTimeout("timed out"), failures.TIMED_OUT),
    (httpx.RemoteProtocolError("Server disconnected"), failures.CONNECTION_LOST),
    # SQLite
    (sqlite3.OperationalError("database is locked"), failures.BUSY),
    (sqlite3.ProgrammingError("Cannot operate on a closed database."), failures.NOT_SERVING),
]

OTHER_ERRORS: list[BaseException] = [
    ValueError("not a storage failure"),
    KeyError("k"),
    asyncpg.exceptions.UniqueViolationError("duplicate key value"),
    asyncpg.exceptions.UndefinedTableError('relation "locks" does not exist'),
    redis_errors.ResponseError("ERR wrong number of arguments"),
    sqlite3.IntegrityError("UNIQUE constraint failed"),
    sqlite3.OperationalError("no such table: locks"),
]


@pytest.mark.parametrize(("exc", "why"), CONNECTION_FAILURES, ids=repr)
def test_connection_failures_are_recognised(exc: BaseException, why: str) -> None:
    assert connection_failure(exc) == why


@pytest.mark.parametrize("exc", OTHER_ERRORS, ids=repr)
def test_other_errors_are_not_connection_failures(exc: BaseException) -> None:
    assert connection_failure(exc) is None


@pytest.mark.parametrize(("exc", "why"), CONNECTION_FAILURES, ids=repr)
def test_a_connection_failure_is_a_retryable_unavailable(exc: BaseException, why: str) -> None:
    with pytest.raises(ConcordError) as caught, storage_errors("lock", "postgresql"):
        raise exc
    error = caught.value
    assert error.code is ErrorCode.UNAVAILABLE and rule_of(error.code).retryable
    assert error.headers == {"Retry-After": "1"}
    assert error.details == {"reason": "storage_unavailable", "engine": "postgresql"}
    assert error.message == f"lock storage (PostgreSQL) is unavailable: {why}; retry later"
    assert error.__cause__ is exc


@pytest.mark.parametrize(
    "exc", [e for e in OTHER_ERRORS if not isinstance(e, ValueError | KeyError)], ids=repr
)
def test_other_driver_errors_are_internal_in_our_words(exc: BaseException) -> None:
    with pytest.raises(ConcordError) as caught, storage_errors("event", "redis"):
        raise exc
    assert caught.value.code is ErrorCode.INTERNAL
    assert caught.value.message == "event storage (Redis) failed"  # never the engine's text


@pytest.mark.parametrize(
    "exc",
    [ValueError("ours"), ConcordError(ErrorCode.NOT_FOUND, "x"), asyncio.CancelledError()],
    ids=repr,
)
def test_everything_else_passes_through(exc: BaseException) -> None:
    with pytest.raises(type(exc)) as caught, storage_errors("lock", "sqlite"):
        raise exc
    assert caught.value is exc


def closed_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("capability", "scheme"),
    [
        ("locks", "redis"),
        ("locks", "postgresql"),
        ("events", "postgresql"),
        ("sagas", "postgresql"),
        ("rbac", "postgresql"),
        ("idempotency", "postgresql"),
        ("discovery", "etcd"),
    ],
)
async def test_real_drivers_name_no_address(
    capability: str, scheme: str, settings: Settings, tmp_path: Path
) -> None:
    port = closed_port()
    url = f"{scheme}://127.0.0.1:{port}" + ("/concord" if scheme == "postgresql" else "")
    connections = Connections()
    try:
        with pytest.raises(ConcordError) as caught:
            store: Any = await open_backend(capability, url, settings, connections)
            await (store.check() if hasattr(store, "check") else store.ping())
    finally:
        await connections.close()
    error = caught.value
    assert error.code is ErrorCode.UNAVAILABLE, error
    assert error.headers.get("Retry-After") == "1"
    assert str(port) not in error.message and "127.0.0.1" not in error.message, error.message


async def test_a_database_folder_that_cannot_be_made_is_a_file_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(sqlite3.OperationalError) as caught:
        await open_database(blocker / "sub" / "concord.db")
    assert connection_failure(caught.value) == failures.FILE_FAILED
