"""Idempotency records in Redis: `SET NX PX` claims a key, `SET PX` stores the answer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.redis.common import redis_errors
from concord_server.backends.redis.pipelined import LuaScript, RedisCommands, run_script
from concord_server.config import Settings
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.idempotency import IdempotencyRecord, IdempotencyStore

_RELEASE = Path(__file__).parent / "lua" / "idempotency_release.lua"
_PENDING = b"P"
_DONE = b"D"
_CLAIM_ATTEMPTS = 5


def _ms(span: timedelta) -> int:
    return max(1, span // timedelta(milliseconds=1))


def marker(fingerprint: str, owner: str) -> bytes:
    """The value of an in-progress key."""
    return _PENDING + fingerprint.encode() + b"\n" + owner.encode()


def decode(raw: bytes) -> IdempotencyRecord:
    """A record from a stored value (`P<fingerprint>\\n<owner>` or `D<fingerprint>\\n<answer>`)."""
    fingerprint, _, rest = raw[1:].partition(b"\n")
    answer = rest if raw[:1] == _DONE else None
    return IdempotencyRecord(fingerprint.decode(), answer)


class RedisIdempotencyStore:
    """One string per key, shared by every instance on the same Redis and prefix."""

    def __init__(self, redis: RedisCommands, key_prefix: str) -> None:
        self._redis = redis
        self._base = f"{key_prefix}concord:idempotency:"
        self._release = LuaScript(_RELEASE.read_text(encoding="utf-8"))

    def _key(self, key: str) -> str:
        return self._base + key

    async def begin(
        self, key: str, fingerprint: str, owner: str, lease: timedelta
    ) -> IdempotencyRecord | None:
        """Claims the key with `SET NX PX`, or reads what holds it."""
        name = self._key(key)
        with redis_errors("idempotency"):
            for _ in range(_CLAIM_ATTEMPTS):
                claim = marker(fingerprint, owner)
                if await self._redis.call("SET", name, claim, "NX", "PX", _ms(lease)):
                    return None
                raw = await self._redis.call("GET", name)
                if raw is not None:
                    return decode(raw)
        raise ConcordError(ErrorCode.UNAVAILABLE, "idempotency key is contended; retry")

    async def complete(self, key: str, fingerprint: str, answer: bytes, ttl: timedelta) -> None:
        """Stores the answer with `SET PX`, replacing the marker."""
        value = _DONE + fingerprint.encode() + b"\n" + answer
        with redis_errors("idempotency"):
            await self._redis.call("SET", self._key(key), value, "PX", _ms(ttl))

    async def release(self, key: str, owner: str) -> None:
        """Deletes the key while it holds this owner's marker (a Lua compare-and-delete)."""
        raw = await self._peek(key)
        if raw is None or raw[:1] != _PENDING:
            return
        with redis_errors("idempotency"):
            args = [marker(decode(raw).fingerprint, owner)]
            await run_script(self._redis, self._release, [self._key(key)], args)

    async def _peek(self, key: str) -> bytes | None:
        with redis_errors("idempotency"):
            raw: bytes | None = await self._redis.call("GET", self._key(key))
        return raw

    async def ping(self) -> None:
        """Raises UNAVAILABLE when Redis does not answer."""
        with redis_errors("idempotency"):
            await self._redis.call("PING")


async def open_idempotency_store(
    url: str, settings: Settings, connections: Connections
) -> IdempotencyStore:
    """Opens the store for a redis:// URL; `?prefix=` namespaces its keys."""
    prefix = url_option(url, "prefix")
    with redis_errors("idempotency"):
        redis = await connections.redis_commands(url)
    return RedisIdempotencyStore(redis, f"{prefix}:" if prefix else "")
