"""Shared connections to storage engines, one per URL, opened lazily and closed at shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import aiosqlite


def url_option(url: str, name: str, default: str = "") -> str:
    """A query option of a storage URL, e.g. `prefix` of `redis://h:1/0?prefix=t1`."""
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else default


def strip_query(url: str) -> str:
    """The URL without its query (our options are not for the driver)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class Connections:
    """Opens each engine once per URL and hands the same client to every store using it."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._lock = asyncio.Lock()

    async def redis(self, url: str) -> Any:
        """A redis.asyncio client for a redis:// URL."""
        import redis.asyncio as aioredis

        key = "redis:" + strip_query(url)
        async with self._lock:
            if key not in self._clients:
                self._clients[key] = aioredis.from_url(strip_query(url), decode_responses=False)
            return self._clients[key]

    async def postgres(self, url: str) -> Any:
        """An asyncpg pool for a postgresql:// URL."""
        import asyncpg

        key = "pg:" + strip_query(url)
        async with self._lock:
            if key not in self._clients:
                self._clients[key] = await asyncpg.create_pool(
                    strip_query(url), min_size=1, max_size=10
                )
            return self._clients[key]

    async def sqlite(self, path: Path) -> aiosqlite.Connection:
        """A new aiosqlite connection to a database file (WAL mode, foreign keys on).

        Every store gets a connection of its own, so one store's transaction never takes in
        another store's statements; SQLite serialises writers across connections (busy_timeout).
        """
        async with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(path, isolation_level=None)
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=10000")
            self._clients[f"sqlite:{path}:{len(self._clients)}"] = conn
            return conn

    async def close(self) -> None:
        """Closes every client opened so far."""
        async with self._lock:
            clients, self._clients = self._clients, {}
        for key, client in clients.items():
            if key.startswith("redis:"):
                await client.aclose()
            else:
                await client.close()
