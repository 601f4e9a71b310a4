"""Shared connections to storage engines, one per URL, opened lazily and closed at shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit, urlunsplit

from concord_server.backends.redis.pipelined import (
    PipelinedRedis,
    RedisCommands,
    RedisPyCommands,
    plain_address,
)
from concord_server.backends.sqlite.database import SqliteDatabase, open_database


def url_option(url: str, name: str, default: str = "") -> str:
    """A query option of a storage URL, e.g. `prefix` of `redis://h:1/0?prefix=t1`."""
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else default


def strip_query(url: str) -> str:
    """The URL without its query (our options are not for the driver)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# Bounds on opening a connection, so an engine that drops packets fails a call (UNAVAILABLE)
# instead of holding it; the server retries its engines in the background (preparation.py).
CONNECT_TIMEOUT_SECONDS = 10.0


class Connections:
    """Opens each engine once per URL and hands the same client to every store using it.

    A client that fails to open is not kept: the next call tries again, so a server started
    while an engine is down connects once it returns.
    """

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, key: str) -> asyncio.Lock:
        """One lock per client, so a slow engine does not hold up the others."""
        return self._locks.setdefault(key, asyncio.Lock())

    async def redis(self, url: str) -> Any:
        """A redis.asyncio client for a redis:// URL (it connects on first use)."""
        import redis.asyncio as aioredis

        key = "redis:" + strip_query(url)
        async with self._lock(key):
            if key not in self._clients:
                self._clients[key] = aioredis.from_url(
                    strip_query(url),
                    decode_responses=False,
                    socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
                )
            return self._clients[key]

    async def redis_commands(self, url: str) -> RedisCommands:
        """One pipelined connection for a plain redis:// URL's hot calls (the client's pool
        for TLS, socket paths or without hiredis), shared like the client."""
        key = "redis-pipelined:" + strip_query(url)
        address = plain_address(strip_query(url))
        if address is None:
            return RedisPyCommands(await self.redis(url))
        async with self._lock(key):
            if key not in self._clients:
                self._clients[key] = PipelinedRedis(address, CONNECT_TIMEOUT_SECONDS)
            return cast(RedisCommands, self._clients[key])

    async def postgres(self, url: str) -> Any:
        """An asyncpg pool for a postgresql:// URL."""
        from concord_server.backends.postgres.pool import create_pool

        key = "pg:" + strip_query(url)
        async with self._lock(key):
            if key not in self._clients:
                self._clients[key] = await create_pool(strip_query(url), CONNECT_TIMEOUT_SECONDS)
            return self._clients[key]

    async def sqlite(self, path: Path) -> SqliteDatabase:
        """The database of a SQLite file, shared by every store on that file (one writer)."""
        key = f"sqlite:{path}"
        async with self._lock(key):
            if key not in self._clients:
                self._clients[key] = await open_database(path)
            return cast(SqliteDatabase, self._clients[key])

    async def close(self) -> None:
        """Closes every client opened so far."""
        clients, self._clients = self._clients, {}
        for key, client in clients.items():
            if key.startswith("redis"):
                await client.aclose()
            elif key.startswith("pg:"):
                await _close_pool(client)
            else:
                await client.close()


async def _close_pool(pool: Any) -> None:
    """Closes an asyncpg pool, terminating it when a connection does not come back in time."""
    try:
        await asyncio.wait_for(pool.close(), CONNECT_TIMEOUT_SECONDS)
    except Exception:  # a lost engine: drop what is left
        pool.terminate()
