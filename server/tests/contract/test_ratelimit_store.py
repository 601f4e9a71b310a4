"""One suite for every rate limiter backend: memory and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from concord_server.backends import registry
from concord_server.backends.connections import Connections, url_option
from concord_server.config import Settings
from concord_server.ports.ratelimit import RateLimiter
from tests.conftest import backend_url

Opener = Callable[..., Awaitable[RateLimiter]]


@pytest.fixture(params=["memory", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_limiter(kind: str, tmp_path: Path, connections: Connections) -> Opener:
    """Opens limiters on one shared URL; `url=` or `conns=` open elsewhere."""
    shared_url = backend_url(kind, tmp_path)

    async def opener(
        rate: float, burst: int, url: str | None = None, conns: Connections | None = None
    ) -> RateLimiter:
        settings = Settings(data_dir=tmp_path, rate_limit_per_second=rate, rate_limit_burst=burst)
        limiter: RateLimiter = await registry.open_backend(
            "ratelimit", url or shared_url, settings, conns or connections
        )
        return limiter

    return opener


async def test_burst_then_denied_with_retry_after(open_limiter: Opener) -> None:
    limiter = await open_limiter(rate=0.5, burst=3)
    decisions = [await limiter.acquire("alice") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[0].remaining == pytest.approx(2, abs=0.01)
    assert decisions[2].remaining == pytest.approx(0, abs=0.01)
    assert decisions[0].retry_after_seconds == 0
    denied = decisions[3]
    assert 1.9 <= denied.retry_after_seconds <= 2.0  # one token at 0.5 per second
    assert denied.remaining < 1


async def test_keys_have_separate_buckets(open_limiter: Opener) -> None:
    limiter = await open_limiter(rate=0.5, burst=1)
    assert (await limiter.acquire("alice")).allowed
    assert not (await limiter.acquire("alice")).allowed
    assert (await limiter.acquire("bob")).allowed


async def test_bucket_refills_at_the_rate(open_limiter: Opener) -> None:
    limiter = await open_limiter(rate=20, burst=2)
    assert (await limiter.acquire("k")).allowed
    assert (await limiter.acquire("k")).allowed
    denied = await limiter.acquire("k")
    assert not denied.allowed
    assert 0 < denied.retry_after_seconds <= 0.05 + 1e-6
    await asyncio.sleep(denied.retry_after_seconds + 0.03)
    assert (await limiter.acquire("k")).allowed


async def test_denied_calls_take_no_tokens(open_limiter: Opener) -> None:
    limiter = await open_limiter(rate=0.5, burst=4)
    assert (await limiter.acquire("k", cost=3)).allowed
    refused = await limiter.acquire("k", cost=3)
    assert not refused.allowed
    assert refused.remaining == pytest.approx(1, abs=0.01)
    assert (await limiter.acquire("k", cost=1)).allowed


async def test_costs_outside_the_bucket_are_refused(open_limiter: Opener) -> None:
    limiter = await open_limiter(rate=1, burst=2)
    with pytest.raises(ValueError):
        await limiter.acquire("k", cost=3)
    with pytest.raises(ValueError):
        await limiter.acquire("k", cost=-1)


async def test_a_cost_of_zero_reads_the_bucket_without_taking(open_limiter: Opener) -> None:
    limiter = await open_limiter(rate=0.01, burst=2)
    assert (await limiter.acquire("k")).allowed
    for _ in range(3):
        peek = await limiter.acquire("k", cost=0)
        assert peek.allowed and 0.99 < peek.remaining < 1.01
    assert (await limiter.acquire("k")).allowed
    assert (await limiter.acquire("k", cost=0)).remaining < 0.01


async def test_concurrent_acquires_never_exceed_the_burst(open_limiter: Opener) -> None:
    limiter = await open_limiter(rate=0.01, burst=5)
    decisions = await asyncio.gather(*(limiter.acquire("hot") for _ in range(40)))
    assert sum(d.allowed for d in decisions) == 5


async def test_two_instances_share_one_bucket(kind: str, open_limiter: Opener) -> None:
    if kind == "memory":
        pytest.skip("memory buckets live in one process")
    conns = Connections()
    try:
        first = await open_limiter(rate=0.01, burst=6)
        second = await open_limiter(rate=0.01, burst=6, conns=conns)
        decisions = await asyncio.gather(
            *(limiter.acquire("shared") for limiter in (first, second) * 10)
        )
        assert sum(d.allowed for d in decisions) == 6
        assert not (await first.acquire("shared")).allowed
        assert not (await second.acquire("shared")).allowed
    finally:
        await conns.close()


async def test_prefixes_isolate_buckets(kind: str, tmp_path: Path, open_limiter: Opener) -> None:
    if kind == "memory":
        pytest.skip("memory URLs have no prefix")
    first = await open_limiter(rate=0.01, burst=1)
    other = await open_limiter(rate=0.01, burst=1, url=backend_url(kind, tmp_path))
    assert (await first.acquire("k")).allowed
    assert not (await first.acquire("k")).allowed
    assert (await other.acquire("k")).allowed


async def test_zero_rate_disables_limiting(open_limiter: Opener) -> None:
    limiter = await open_limiter(rate=0, burst=1)
    assert all([(await limiter.acquire("k")).allowed for _ in range(50)])


async def test_ping(open_limiter: Opener) -> None:
    limiter = await open_limiter(rate=1, burst=1)
    await limiter.ping()


async def test_redis_forgets_idle_buckets(
    kind: str, tmp_path: Path, connections: Connections
) -> None:
    if kind != "redis":
        pytest.skip("only Redis keeps buckets as keys")
    from concord_server.backends.redis.ratelimit import RedisRateLimiter

    url = backend_url(kind, tmp_path)
    settings = Settings(data_dir=tmp_path, rate_limit_per_second=10, rate_limit_burst=5)
    limiter = await registry.open_backend("ratelimit", url, settings, connections)
    assert isinstance(limiter, RedisRateLimiter)
    assert limiter.bucket_key("idle") == f"{url_option(url, 'prefix')}:concord:ratelimit:idle"
    await limiter.acquire("idle", cost=5)
    client = await connections.redis(url)
    ttl_ms = await client.pttl(limiter.bucket_key("idle"))
    assert 1000 < ttl_ms <= 1500  # 0.5 s to refill plus a 1 s margin
