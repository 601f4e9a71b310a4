"""Locks in Redis: one atomic Lua script per operation (one round trip each), times from the
Redis server clock, and changes announced on a pub/sub channel every instance listens to."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.failures import TIMED_OUT, unavailable
from concord_server.backends.redis.common import redis_errors
from concord_server.backends.redis.pipelined import LuaScript, RedisCommands, run_script
from concord_server.config import Settings
from concord_server.ports.locks import (
    EXPIRED_GRANT_RETENTION,
    Conflict,
    EventFilter,
    LockEvent,
    LockEventType,
    LockRecord,
    Refusal,
    RefusalReason,
)
from concord_server.pubsub import Broadcaster, Subscription

logger = logging.getLogger(__name__)

_LUA = Path(__file__).parent / "lua"
_SCRIPTS = ("acquire", "renew", "release", "get", "list", "sweep")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_RETENTION_MS = EXPIRED_GRANT_RETENTION // _MS


def _from_ms(ms: int | bytes) -> datetime:
    return _EPOCH + timedelta(milliseconds=int(ms))


def _record(name: str, owner: str, numbers: list[Any]) -> LockRecord:
    """A grant from the script reply's token, acquired_at, expires_at and ttl."""
    token, acquired_ms, expires_ms, ttl_ms = (int(n) for n in numbers)
    return LockRecord(name, owner, token, _from_ms(acquired_ms), _from_ms(expires_ms), ttl_ms * _MS)


def _refusal(reply: list[Any]) -> Refusal:
    if int(reply[0]) == -1:
        return Refusal(RefusalReason.EXPIRED, _from_ms(reply[1]))
    return Refusal(RefusalReason.NOT_HELD)


def _event(payload: bytes) -> LockEvent:
    """Decodes `kind, token, acquired_at, expires_at, ttl, at, name, owner` (tab-separated)."""
    kind, token, acquired, expires, ttl, at, name, owner = payload.decode().split("\t", 7)
    record = _record(name, owner, [token, acquired, expires, ttl])
    return LockEvent(LockEventType(kind), record, _from_ms(int(at)))


def _engine_errors() -> AbstractContextManager[None]:
    """Redis failures of this store as contract errors."""
    return redis_errors("lock")


class RedisLockStore:
    """A LockStore in Redis; every key carries the `{prefix}` hash tag (one cluster slot).
    Scripts run on `commands` (one pipelined connection); notifications use `client`'s pub/sub."""

    def __init__(
        self, client: Any, commands: RedisCommands, prefix: str, queue_limit: int = 1000
    ) -> None:
        self._client = client
        self._commands = commands
        self._base = f"{{{prefix}}}:locks:"
        self._index = self._base + "index"
        self._expiries = self._base + "expiries"
        self._counter = self._base + "tokens"
        self._channel = self._base + "events"
        common = (_LUA / "locks_common.lua").read_text()
        self._scripts = {
            op: LuaScript(common + (_LUA / f"locks_{op}.lua").read_text()) for op in _SCRIPTS
        }
        self._events: Broadcaster[LockEvent] = Broadcaster(queue_limit)
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    def _holder(self, name: str) -> str:
        return f"{self._base}holder:{name}"

    async def load_scripts(self) -> None:
        """Loads every script into the server's script cache (SCRIPT LOAD)."""
        with _engine_errors():
            for script in self._scripts.values():
                await self._commands.call("SCRIPT", "LOAD", script.source)

    async def _run(self, op: str, keys: list[str], args: list[Any]) -> Any:
        with _engine_errors():
            return await run_script(self._commands, self._scripts[op], keys, args)

    async def try_acquire(self, name: str, owner: str, ttl: timedelta) -> LockRecord | Conflict:
        """Grants the lock if it is free, expired or held by `owner` (one EVALSHA)."""
        legacy_counter = f"{self._base}token:{name}"
        keys = [self._holder(name), legacy_counter, self._index, self._expiries, self._counter]
        reply = await self._run(
            "acquire", keys, [name, owner, ttl // _MS, _RETENTION_MS, self._channel]
        )
        if int(reply[0]) == 0:
            return Conflict(name, _from_ms(reply[1]))
        return _record(name, owner, reply[1:])

    async def renew(
        self, name: str, owner: str, fencing_token: int, ttl: timedelta
    ) -> LockRecord | Refusal:
        """Extends the holder's grant to `ttl` from now."""
        keys = [self._holder(name), self._expiries]
        reply = await self._run(
            "renew", keys, [name, owner, fencing_token, ttl // _MS, _RETENTION_MS]
        )
        return _record(name, owner, reply[1:]) if int(reply[0]) == 1 else _refusal(reply)

    async def release(self, name: str, owner: str, fencing_token: int) -> LockRecord | Refusal:
        """Ends the holder's grant (one EVALSHA)."""
        keys = [self._holder(name), self._index, self._expiries]
        reply = await self._run("release", keys, [name, owner, fencing_token, self._channel])
        return _record(name, owner, reply[1:]) if int(reply[0]) == 1 else _refusal(reply)

    async def get(self, name: str) -> LockRecord | None:
        """The current unexpired grant, if any."""
        reply = await self._run("get", [self._holder(name)], [])
        return None if reply is None else _record(name, reply[0].decode(), reply[1:])

    async def list(self, prefix: str, after: str, limit: int) -> list[LockRecord]:
        """Unexpired grants by prefix, in name order, after `after`."""
        low = b"(" + after.encode() if after and after >= prefix else b"[" + prefix.encode()
        high = b"[" + prefix.encode() + b"\xff" if prefix else b"+"
        args = [self._holder(""), low, high, limit]
        reply = await self._run("list", [self._index], args)
        return [
            _record(reply[i].decode(), reply[i + 1].decode(), reply[i + 2 : i + 6])
            for i in range(0, len(reply), 6)
        ]

    async def subscribe(self, match: EventFilter) -> Subscription[LockEvent]:
        """Events from every instance on this Redis that `match` accepts."""
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="locks-redis-listener")
        try:
            async with asyncio.timeout(5):
                await self._listening.wait()
        except TimeoutError:
            raise unavailable("lock notification", "redis", TIMED_OUT) from None
        return self._events.subscribe(match)

    async def _listen(self) -> None:
        """Relays the channel to local subscribers, reconnecting with backoff."""
        delay = 0.1
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        self._listening.set()
                        delay = 0.1
                    elif message["type"] == "message":
                        self._relay(message["data"])
            except (RedisError, OSError) as exc:
                logger.warning("lock notifications interrupted: %s", exc)
            finally:
                self._listening.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _relay(self, payload: bytes) -> None:
        try:
            event = _event(payload)
        except ValueError:
            logger.warning("ignored a malformed lock notification: %r", payload[:100])
            return
        self._events.publish(event)

    async def sweep_expired(self, limit: int = 100) -> int:
        """Announces newly expired grants; returns how many."""
        args = [self._holder(""), self._channel, limit]
        return int(await self._run("sweep", [self._index, self._expiries], args))

    async def check(self) -> None:
        """Raises UNAVAILABLE when Redis does not answer."""
        with _engine_errors():
            await self._commands.call("PING")

    async def close(self) -> None:
        """Stops the notification listener."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None


async def open_lock_store(url: str, settings: Settings, connections: Connections) -> RedisLockStore:
    """The store in the Redis of a redis:// URL, keys under its `prefix` option."""
    with _engine_errors():
        client = await connections.redis(url)
        commands = await connections.redis_commands(url)
    prefix = url_option(url, "prefix", "concord")
    store = RedisLockStore(client, commands, prefix, settings.ws_max_queue)
    await store.load_scripts()
    return store
