"""Rate limiting rules: token-bucket arithmetic, the RATE_LIMITED error, bucket keys."""

from __future__ import annotations

import pytest

from concord_server.backends.connections import Connections
from concord_server.backends.memory.ratelimit import (
    MemoryRateLimiter,
    UnlimitedRateLimiter,
    open_rate_limiter,
    policy_of,
)
from concord_server.backends.redis.ratelimit import RedisRateLimiter
from concord_server.config import Settings
from concord_server.context import Principal
from concord_server.domain.ratelimit import credential_key, enforce, rate_limited
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.ratelimit import BucketPolicy, Decision


class FakeTime:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def limiter(time: FakeTime, rate: float = 2, burst: float = 4) -> MemoryRateLimiter:
    return MemoryRateLimiter(BucketPolicy(rate, burst), now=time)


async def test_a_new_bucket_is_full(time: FakeTime) -> None:
    decision = await limiter(time).acquire("k")
    assert decision == Decision(allowed=True, retry_after_seconds=0.0, remaining=3)


async def test_refill_is_proportional_and_capped(time: FakeTime) -> None:
    bucket = limiter(time, rate=2, burst=4)
    for _ in range(4):
        assert (await bucket.acquire("k")).allowed
    denied = await bucket.acquire("k")
    assert denied == Decision(allowed=False, retry_after_seconds=0.5, remaining=0)
    time.now += 0.25
    assert (await bucket.acquire("k")).retry_after_seconds == pytest.approx(0.25)
    time.now += 0.25
    assert (await bucket.acquire("k")).allowed
    time.now += 1000
    assert (await bucket.acquire("k")).remaining == 3  # capped at the burst


async def test_clock_going_backwards_adds_nothing(time: FakeTime) -> None:
    bucket = limiter(time, rate=1, burst=1)
    assert (await bucket.acquire("k")).allowed
    time.now -= 50
    assert not (await bucket.acquire("k")).allowed


async def test_full_buckets_are_pruned(time: FakeTime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("concord_server.backends.memory.ratelimit._PRUNE_THRESHOLD", 3)
    bucket = limiter(time, rate=1, burst=2)
    for name in ["a", "b", "c"]:
        await bucket.acquire(name)
    assert bucket.held_buckets == 3
    await bucket.acquire("c")  # "c" is not full now
    time.now += 1  # "a" and "b" are full again, "c" holds 1
    await bucket.acquire("d")
    assert bucket.held_buckets == 2  # "c" and "d" remain


async def test_enforce_passes_when_allowed(time: FakeTime) -> None:
    await enforce(limiter(time), "k")


async def test_enforce_raises_rate_limited_with_retry_after(time: FakeTime) -> None:
    bucket = limiter(time, rate=0.4, burst=1)
    await enforce(bucket, "k")
    with pytest.raises(ConcordError) as caught:
        await enforce(bucket, "k")
    error = caught.value
    assert error.code is ErrorCode.RATE_LIMITED
    assert error.details == {"retry_after_seconds": 2.5}
    assert error.headers == {"Retry-After": "3"}
    assert "rate limit exceeded" in error.message


@pytest.mark.parametrize(
    ("wait", "header"), [(0.0, "1"), (0.001, "1"), (1.0, "1"), (1.01, "2"), (59.2, "60")]
)
def test_retry_after_header_is_whole_seconds_at_least_one(wait: float, header: str) -> None:
    error = rate_limited(Decision(False, wait, 0))
    assert error.headers["Retry-After"] == header
    assert error.details["retry_after_seconds"] == round(wait, 3)


def test_credential_key_combines_subject_and_key_id() -> None:
    from_key = Principal("svc:a", "API_KEY", ("*",), key_id="k1")
    token_of_key = Principal("svc:a", "JWT", ("locks.*",), key_id="k1")
    other_key = Principal("svc:a", "API_KEY", ("*",), key_id="k2")
    assert credential_key(from_key) == credential_key(token_of_key)
    assert credential_key(from_key) != credential_key(other_key)
    assert credential_key(Principal("svc:b", "JWT")) != credential_key(Principal("svc:c", "JWT"))


def test_policy_rejects_non_positive_values() -> None:
    with pytest.raises(ValueError):
        BucketPolicy(0, 1)
    with pytest.raises(ValueError):
        BucketPolicy(1, 0)


def test_policy_of_settings() -> None:
    assert policy_of(Settings(rate_limit_per_second=0)) is None
    assert policy_of(Settings(rate_limit_per_second=5, rate_limit_burst=0)) == BucketPolicy(5, 1)
    assert policy_of(Settings(rate_limit_per_second=5, rate_limit_burst=9)) == BucketPolicy(5, 9)


async def test_memory_factory_honours_disabled_limits() -> None:
    opened = await open_rate_limiter("memory://", Settings(rate_limit_per_second=-1), Connections())
    assert isinstance(opened, UnlimitedRateLimiter)


async def test_redis_outage_is_unavailable(connections: Connections) -> None:
    commands = await connections.redis_commands("redis://127.0.0.1:1/0")
    down = RedisRateLimiter(commands, BucketPolicy(1, 1), "t:")
    with pytest.raises(ConcordError) as caught:
        await down.acquire("k")
    assert caught.value.code is ErrorCode.UNAVAILABLE
    with pytest.raises(ConcordError):
        await down.ping()
