"""What every Redis store shares: the map of Redis failures onto the error catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from concord_server.errors import ConcordError, ErrorCode


@contextmanager
def redis_errors(what: str) -> Iterator[None]:
    """Redis failures as contract errors: UNAVAILABLE when unreachable, INTERNAL otherwise."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise ConcordError(
            ErrorCode.UNAVAILABLE, f"{what} storage (Redis) is unavailable: {exc}"
        ) from exc
    except RedisError as exc:
        raise ConcordError(ErrorCode.INTERNAL, f"{what} storage (Redis) failed: {exc}") from exc
