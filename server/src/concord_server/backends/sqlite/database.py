"""One SQLite file: a single writer thread that runs each transaction whole, plus reader threads.

SQLite allows one writer per file. Every store on a file shares this object, so writers queue
here instead of contending for the file's lock: a transaction runs start to finish on the writer
thread (BEGIN IMMEDIATE, the store's statements, COMMIT) with no event-loop round trip while it
holds the lock. A caller cancelled while waiting leaves no transaction open: work that has not
started never runs, work that has started commits or rolls back on its own. Readers use their
own connections (WAL: they never block the writer) in a small pool of threads.

Other processes on the same file still contend through SQLite's busy timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
SQLITE_CANTOPEN = 14  # the SQLite result code for a file that cannot be opened
Work = Callable[[sqlite3.Connection], T]

BUSY_TIMEOUT_MS = 30_000  # other processes on the file: how long a writer waits for the lock
READERS = 2


class SqliteDatabase:
    """The writer and readers of one database file; open with `open_database`."""

    def __init__(self, path: Path, readers: int = READERS) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._writer = ThreadPoolExecutor(1, f"sqlite-writer-{path.name}", self._connect)
        self._readers = ThreadPoolExecutor(readers, f"sqlite-reader-{path.name}", self._connect)
        self._closed = False

    def _connect(self) -> None:
        """Opens this thread's connection (autocommit: transactions are explicit)."""
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        self._local.conn = conn
        with self._guard:
            self._connections.append(conn)

    async def write(self, work: Work[T], on_commit: Callable[[T], None] | None = None) -> T:
        """Runs `work` in one IMMEDIATE transaction on the writer thread; returns its result.

        `on_commit(result)` runs on the event loop after the commit, in commit order, even when
        the caller was cancelled meanwhile (so a store's change events are never lost).
        """
        future = self._submit(self._writer, work, "BEGIN IMMEDIATE")
        if on_commit is not None:
            loop = asyncio.get_running_loop()
            future.add_done_callback(lambda done: _after_commit(loop, done, on_commit))
        return await asyncio.wrap_future(future)

    async def read(self, work: Work[T]) -> T:
        """Runs `work` in one read transaction (a consistent snapshot) on a reader thread."""
        return await asyncio.wrap_future(self._submit(self._readers, work, "BEGIN"))

    def _submit(self, pool: ThreadPoolExecutor, work: Work[T], begin: str) -> Future[T]:
        if self._closed:
            raise sqlite3.ProgrammingError("the database is closed")
        return pool.submit(_in_transaction, self._local, work, begin)

    async def close(self) -> None:
        """Finishes queued work, then closes every connection."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._guard:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()


def _in_transaction(local: threading.local, work: Work[T], begin: str) -> T:
    """BEGIN … COMMIT around `work` on this thread's connection; rolled back when it raises."""
    conn: sqlite3.Connection = local.conn
    if conn.in_transaction:  # never expected; a leftover must not swallow this work
        conn.execute("ROLLBACK")
    conn.execute(begin)
    try:
        result = work(conn)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _after_commit(
    loop: asyncio.AbstractEventLoop, done: Future[T], on_commit: Callable[[T], None]
) -> None:
    """Schedules `on_commit` on the loop when the transaction committed."""
    if done.cancelled() or done.exception() is not None:
        return
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody to tell
        loop.call_soon_threadsafe(on_commit, done.result())


def run_script(db: sqlite3.Connection, script: str) -> None:
    """Runs `;`-separated statements inside the current transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


async def open_database(path: Path) -> SqliteDatabase:
    """A database on `path` (created with its folder if missing), WAL mode on."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a folder that cannot be made: the file cannot be opened
        failure = sqlite3.OperationalError(f"unable to open database file: {exc.strerror}")
        failure.sqlite_errorcode = SQLITE_CANTOPEN
        raise failure from exc
    database = SqliteDatabase(path)
    await database.write(lambda conn: None)  # opens the writer, checks the file is usable
    return database
