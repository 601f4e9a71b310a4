"""Cache domain rules on the memory store with a manual clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from concord_server.backends.memory.cache import MemoryCacheStore
from concord_server.clock import ManualClock
from concord_server.domain.cache import CacheService, CacheSweeper, EntryInput, to_json
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.cache import CacheEventType
from concord_server.pubsub import SlowConsumerError


@pytest.fixture
def clock() -> ManualClock:
    """A clock the tests move by hand."""
    return ManualClock()


@pytest.fixture
def store() -> MemoryCacheStore:
    """A fresh memory store."""
    return MemoryCacheStore()


@pytest.fixture
def cache(store: MemoryCacheStore, clock: ManualClock) -> CacheService:
    """The cache domain over the memory store."""
    return CacheService(store, clock, watch_queue_limit=3)


async def test_entry_lives_exactly_until_its_ttl(cache: CacheService, clock: ManualClock) -> None:
    written = await cache.set("ns", EntryInput("k", 1, timedelta(seconds=10)))
    assert written.updated_at == clock.now()
    assert written.expires_at == clock.now() + timedelta(seconds=10)
    clock.advance(9.999)
    assert (await cache.get("ns", "k")).value() == 1
    clock.advance(0.001)
    with pytest.raises(ConcordError) as info:
        await cache.get("ns", "k")
    assert info.value.code == ErrorCode.NOT_FOUND


async def test_sweep_announces_expiry_at_the_deadline(
    cache: CacheService, clock: ManualClock
) -> None:
    written = await cache.set("ns", EntryInput("k", 1, timedelta(seconds=1)))
    async with await cache.watch("ns", "") as sub:
        assert await cache.sweep() == 0
        clock.advance(1)
        assert await cache.sweep() == 1
        event = await sub.get()
    assert (event.type, event.key, event.occurred_at) == (
        CacheEventType.EXPIRED,
        "k",
        written.expires_at,
    )


async def test_rewrite_moves_the_deadline(cache: CacheService, clock: ManualClock) -> None:
    await cache.set("ns", EntryInput("k", 1, timedelta(seconds=1)))
    clock.advance(0.5)
    await cache.set("ns", EntryInput("k", 2, timedelta(seconds=1)))
    clock.advance(0.6)
    assert await cache.sweep() == 0
    assert (await cache.get("ns", "k")).value() == 2
    clock.advance(0.4)
    assert await cache.sweep() == 1


async def test_deleted_entry_is_not_expired_later(cache: CacheService, clock: ManualClock) -> None:
    await cache.set("ns", EntryInput("k", 1, timedelta(seconds=1)))
    await cache.delete("ns", "k")
    clock.advance(2)
    assert await cache.sweep() == 0


async def test_lazy_expiry_is_announced_once(cache: CacheService, clock: ManualClock) -> None:
    await cache.set("ns", EntryInput("k", 1, timedelta(seconds=1)))
    async with await cache.watch("ns", "") as sub:
        clock.advance(1)
        assert (await cache.batch_get("ns", ["k"])).missing_keys == ["k"]
        assert await cache.sweep() == 0
        assert (await sub.get()).type == CacheEventType.EXPIRED


async def test_if_match_and_create_only_cannot_be_combined(cache: CacheService) -> None:
    with pytest.raises(ConcordError) as info:
        await cache.set("ns", EntryInput("k", 1), if_match="x", create_only=True)
    assert info.value.code == ErrorCode.INVALID_ARGUMENT


def test_values_must_be_json() -> None:
    assert to_json({"b": [1, None], "a": "é"}) == '{"b":[1,null],"a":"é"}'
    with pytest.raises(ConcordError) as info:
        to_json(float("nan"))
    assert info.value.code == ErrorCode.INVALID_ARGUMENT


async def test_slow_watcher_is_disconnected(cache: CacheService) -> None:
    sub = await cache.watch("ns", "")
    for i in range(5):
        await cache.set("ns", EntryInput(f"k{i}", i))
    with pytest.raises(SlowConsumerError):
        while True:
            await sub.get()


async def test_sweeper_expires_in_the_background(
    cache: CacheService, store: MemoryCacheStore, clock: ManualClock
) -> None:
    sweeper = CacheSweeper(cache, store, "memory", interval=0.01)
    await sweeper.check()
    await cache.set("ns", EntryInput("k", 1, timedelta(seconds=1)))
    async with await cache.watch("ns", "") as sub:
        await sweeper.start()
        clock.advance(1)
        event = await asyncio.wait_for(sub.get(), 2)
        await sweeper.stop()
    assert event.type == CacheEventType.EXPIRED
    await sweeper.stop()
