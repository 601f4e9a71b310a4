"""Token buckets in Redis: one atomic Lua script per acquire, timed by Redis `TIME`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.memory.ratelimit import UnlimitedRateLimiter, policy_of
from concord_server.backends.redis.common import redis_errors
from concord_server.backends.redis.pipelined import LuaScript, RedisCommands, run_script
from concord_server.config import Settings
from concord_server.ports.ratelimit import BucketPolicy, Decision, RateLimiter

_SCRIPT = Path(__file__).parent / "lua" / "ratelimit.lua"


@cache
def script_source() -> str:
    """The token-bucket Lua script."""
    return _SCRIPT.read_text(encoding="utf-8")


def rate_limit_errors() -> AbstractContextManager[None]:
    """Redis failures of this store as contract errors."""
    return redis_errors("rate limit")


class RedisRateLimiter:
    """Buckets shared by every instance on the same Redis and prefix."""

    def __init__(self, redis: RedisCommands, policy: BucketPolicy, key_prefix: str) -> None:
        self._redis = redis
        self._policy = policy
        self._base = f"{key_prefix}concord:ratelimit:"
        self._script = LuaScript(script_source())

    def bucket_key(self, key: str) -> str:
        """The Redis key of a bucket."""
        return self._base + key

    async def acquire(self, key: str, cost: float = 1) -> Decision:
        """Runs the bucket script for the key."""
        self._policy.check_cost(cost)
        args = [repr(self._policy.rate_per_second), repr(self._policy.burst), repr(float(cost))]
        with rate_limit_errors():
            allowed, retry_after, remaining = await run_script(
                self._redis, self._script, [self.bucket_key(key)], args
            )
        return Decision(
            allowed=int(allowed) == 1,
            retry_after_seconds=float(retry_after),
            remaining=float(remaining),
        )

    async def ping(self) -> None:
        """Raises UNAVAILABLE when Redis does not answer."""
        with rate_limit_errors():
            await self._redis.call("PING")


async def open_rate_limiter(url: str, settings: Settings, connections: Connections) -> RateLimiter:
    """Opens a Redis limiter for a redis:// URL; `?prefix=` namespaces its keys."""
    policy = policy_of(settings)
    if policy is None:
        return UnlimitedRateLimiter()
    prefix = url_option(url, "prefix")
    with rate_limit_errors():
        redis = await connections.redis_commands(url)
    return RedisRateLimiter(redis, policy, f"{prefix}:" if prefix else "")
