"""Redis cache store: a hash per entry with PX expiry, Lua for atomic writes, pub/sub events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
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
from concord_server.ports.cache import (
    CacheEntry,
    CacheEvent,
    CacheEventType,
    CacheWrite,
    ConditionFailed,
    WriteCondition,
)
from concord_server.pubsub import Broadcaster, Subscription

log = logging.getLogger(__name__)

_LUA = Path(__file__).parent / "lua"
_FIELDS = ("v", "etag", "u", "x")
_SCAN_BATCH = 500
_SWEEP_BATCH = 500
_GLOB_SPECIALS = "\\*?[]"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def glob_escape(text: str) -> str:
    """`text` with Redis glob characters escaped, for a literal SCAN/PSUBSCRIBE match."""
    return "".join("\\" + c if c in _GLOB_SPECIALS else c for c in text)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (exact, no float rounding)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    """A UTC datetime from milliseconds since the epoch."""
    return _EPOCH + timedelta(milliseconds=ms)


def ttl_ms(ttl: timedelta) -> int:
    """A TTL in whole milliseconds, at least 1."""
    return max(1, ttl // timedelta(milliseconds=1))


def engine_errors() -> AbstractContextManager[None]:
    """Redis failures of this store as contract errors."""
    return redis_errors("cache")


class RedisCacheStore:
    """A CacheStore on Redis, shared safely by any number of server processes. Reads and
    scripts go over `commands` (one pipelined connection); SCAN and pub/sub use `redis`."""

    def __init__(self, redis: Any, commands: RedisCommands, key_prefix: str) -> None:
        self._redis = redis
        self._commands = commands
        self._base = f"{key_prefix}concord:cache:"
        self._expiries = self._base + "expiries"
        self._set_script = LuaScript((_LUA / "cache_set.lua").read_text())
        self._delete_script = LuaScript((_LUA / "cache_delete.lua").read_text())
        self._sweep_script = LuaScript((_LUA / "cache_sweep.lua").read_text())
        self._events: Broadcaster[CacheEvent] = Broadcaster()
        self._listener: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        self._listener_lock = asyncio.Lock()

    def _entry_key(self, namespace: str, key: str) -> str:
        """The Redis key of an entry."""
        return f"{self._base}e:{namespace}:{key}"

    def _channel(self, namespace: str) -> str:
        """The pub/sub channel of a namespace's events."""
        return f"{self._base}events:{namespace}"

    async def get(self, namespace: str, keys: Sequence[str], now: datetime) -> list[CacheEntry]:
        """The live entries among `keys`, in the order of `keys` (Redis drops expired ones)."""
        with engine_errors():
            reads = [("HMGET", self._entry_key(namespace, key), *_FIELDS) for key in keys]
            rows = await self._commands.call_many(reads)
        found = (_entry(namespace, key, row) for key, row in zip(keys, rows, strict=True))
        return [entry for entry in found if entry is not None]

    async def set(
        self, namespace: str, write: CacheWrite, condition: WriteCondition, now: datetime
    ) -> CacheEntry:
        """Writes one entry if the condition holds, in one Lua call."""
        create_only = "1" if condition.create_only else "0"
        args = [self._channel(namespace), str(to_ms(now)), condition.if_match, create_only]
        result = await self._run_set(namespace, [write], args, now)
        if int(result[0]) == 0:
            raise ConditionFailed(_text(result[1]) or None, _text(result[2]))
        return _written(namespace, write, now)

    async def set_many(
        self, namespace: str, writes: Sequence[CacheWrite], now: datetime
    ) -> list[CacheEntry]:
        """Writes every entry in one Lua call, so all or none are applied."""
        args = [self._channel(namespace), str(to_ms(now)), "", "0"]
        await self._run_set(namespace, writes, args, now)
        return [_written(namespace, write, now) for write in writes]

    async def _run_set(
        self, namespace: str, writes: Sequence[CacheWrite], args: list[str], now: datetime
    ) -> list[Any]:
        """Calls the set script with the entries' keys and arguments."""
        keys = [self._expiries] + [self._entry_key(namespace, w.key) for w in writes]
        for write in writes:
            ttl = str(ttl_ms(write.ttl)) if write.ttl is not None else ""
            event = _event_json("SET", namespace, write.key, now, write.etag)
            args += [write.value_json, write.etag, ttl, event]
        with engine_errors():
            result: list[Any] = await run_script(self._commands, self._set_script, keys, args)
        return result

    async def delete(self, namespace: str, key: str, if_match: str, now: datetime) -> bool:
        """Deletes one entry, honouring `if_match`, in one Lua call."""
        deleted, current = await self._run_delete(namespace, [key], if_match, now)
        if deleted < 0:
            raise ConditionFailed(current or None, "etag does not match")
        return deleted == 1

    async def _run_delete(
        self, namespace: str, keys: Sequence[str], if_match: str, now: datetime
    ) -> tuple[int, str]:
        """Calls the delete script; returns (deleted count or -1, current etag)."""
        redis_keys = [self._expiries] + [self._entry_key(namespace, k) for k in keys]
        events = [_event_json("DELETED", namespace, k, now) for k in keys]
        with engine_errors():
            args = [self._channel(namespace), if_match, *events]
            result = await run_script(self._commands, self._delete_script, redis_keys, args)
        return int(result[0]), _text(result[1])

    async def delete_prefix(self, namespace: str, prefix: str, now: datetime) -> int:
        """SCANs the namespace for the prefix and deletes each batch atomically."""
        match = glob_escape(self._entry_key(namespace, prefix)) + "*"
        strip = len(self._entry_key(namespace, ""))
        total = 0
        with engine_errors():
            batch: list[str] = []
            async for raw in self._redis.scan_iter(match=match, count=_SCAN_BATCH):
                batch.append(_text(raw)[strip:])
                if len(batch) >= _SCAN_BATCH:
                    total += (await self._run_delete(namespace, batch, "", now))[0]
                    batch = []
            if batch:
                total += (await self._run_delete(namespace, batch, "", now))[0]
        return total

    async def sweep_expired(self, now: datetime) -> int:
        """Announces expiries that Redis has carried out (by Redis' own clock)."""
        args = [_SWEEP_BATCH, self._base + "e:", self._base + "events:"]
        total = 0
        with engine_errors():
            while True:
                reply = await run_script(self._commands, self._sweep_script, [self._expiries], args)
                announced = int(reply)
                total += announced
                if announced < _SWEEP_BATCH:
                    return total

    async def subscribe(self, namespace: str, prefix: str, limit: int) -> Subscription[CacheEvent]:
        """A subscription fed by the Redis pub/sub channel of the namespace."""
        await self._ensure_listener()
        return self._events.subscribe(
            lambda e: e.namespace == namespace and e.key.startswith(prefix), limit
        )

    async def _ensure_listener(self) -> None:
        """Starts the one pattern subscription of this store and waits until Redis confirms it."""
        async with self._listener_lock:
            if self._listener is not None:
                return
            with engine_errors():
                pubsub = self._redis.pubsub()
                await pubsub.psubscribe(glob_escape(self._base + "events:") + "*")
                await _await_confirmation(pubsub)
            self._pubsub = pubsub
            self._listener = asyncio.create_task(self._listen(pubsub), name="redis-cache-events")

    async def _listen(self, pubsub: Any) -> None:
        """Relays every published event to this process's subscribers."""
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except (RedisError, OSError) as exc:
                log.warning("redis cache event listener: %s; retrying", exc)
                await asyncio.sleep(0.5)
                continue
            if message is not None and message.get("type") == "pmessage":
                event = _parse_event(message["data"])
                if event is not None:
                    self._events.publish(event)

    async def ping(self) -> None:
        """Raises UNAVAILABLE when Redis does not answer."""
        with engine_errors():
            await self._commands.call("PING")

    async def close(self) -> None:
        """Stops the event listener and releases its connection."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
            self._pubsub = None


async def _await_confirmation(pubsub: Any) -> None:
    """Reads until the psubscribe confirmation arrives (UNAVAILABLE after 5 s)."""
    try:
        async with asyncio.timeout(5.0):
            while True:
                message = await pubsub.get_message(timeout=0.1)
                if message is not None and message.get("type") == "psubscribe":
                    return
    except TimeoutError:
        raise unavailable("cache notification", "redis", TIMED_OUT) from None


def _text(raw: Any) -> str:
    """A reply item as text."""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _entry(namespace: str, key: str, row: list[Any]) -> CacheEntry | None:
    """An entry from its HMGET row; None when the key is absent."""
    value, etag, updated, expires = row
    if value is None or etag is None:
        return None
    expires_at = from_ms(int(expires)) if expires else None
    return CacheEntry(namespace, key, _text(value), _text(etag), from_ms(int(updated)), expires_at)


def _written(namespace: str, write: CacheWrite, now: datetime) -> CacheEntry:
    """The entry as the set script stored it (millisecond timestamps)."""
    updated = to_ms(now)
    expires = from_ms(updated + ttl_ms(write.ttl)) if write.ttl is not None else None
    return CacheEntry(namespace, write.key, write.value_json, write.etag, from_ms(updated), expires)


def _event_json(kind: str, namespace: str, key: str, at: datetime, etag: str = "") -> str:
    """The pub/sub payload of one event."""
    payload = {"type": kind, "ns": namespace, "key": key, "etag": etag, "at": to_ms(at)}
    return json.dumps(payload, separators=(",", ":"))


def _parse_event(data: Any) -> CacheEvent | None:
    """An event from its pub/sub payload; None (logged) when it is malformed."""
    try:
        payload = json.loads(data)
        return CacheEvent(
            CacheEventType(payload["type"]),
            payload["ns"],
            payload["key"],
            from_ms(int(payload["at"])),
            payload.get("etag") or "",
        )
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring malformed cache event %r: %s", data, exc)
        return None


async def open_cache_store(
    url: str, settings: Settings, connections: Connections
) -> RedisCacheStore:
    """A Redis cache store; `?prefix=` on the URL prefixes every key and channel."""
    prefix = url_option(url, "prefix")
    with engine_errors():
        redis = await connections.redis(url)
        commands = await connections.redis_commands(url)
    return RedisCacheStore(redis, commands, f"{prefix}:" if prefix else "")
