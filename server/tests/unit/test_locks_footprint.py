"""What a lock store keeps per name once its grants are gone: no counter per name (memory,
Redis), and tokens that keep increasing for names counted by an earlier version (Redis)."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.memory.locks import MemoryLockStore
from concord_server.backends.redis.locks import open_lock_store
from concord_server.config import Settings
from concord_server.ports.locks import LockRecord, LockStore
from tests.conftest import backend_url

LONG = timedelta(seconds=30)
CYCLES = 2_000


async def cycle(store: LockStore, name: str) -> int:
    """Acquires and releases `name`; returns the grant's fencing token."""
    grant = await store.try_acquire(name, "alice", LONG)
    assert isinstance(grant, LockRecord)
    assert await store.release(name, "alice", grant.fencing_token) == grant
    return grant.fencing_token


async def test_memory_store_keeps_nothing_per_released_name() -> None:
    store = MemoryLockStore()
    await cycle(store, "warm-up")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tokens = [await cycle(store, f"name-{i}") for i in range(CYCLES)]
        kept = tracemalloc.get_traced_memory()[0] - before - _list_size(tokens)
    finally:
        tracemalloc.stop()
    # a counter per name costs about 100 bytes a name (200 kB here); one counter costs nothing
    assert kept < 40_000, kept
    assert tokens == sorted(set(tokens))


def _list_size(tokens: list[int]) -> int:
    """What the test's own list of tokens takes (list slots and the int objects)."""
    return len(tokens) * (8 + 32)


@pytest.mark.redis
async def test_redis_store_keeps_no_key_per_released_name(
    tmp_path: Path, settings: Settings, connections: Connections
) -> None:
    url = backend_url("redis", tmp_path)
    prefix = url_option(url, "prefix")
    store = await open_lock_store(url, settings, connections)
    client = await connections.redis(url)
    tokens = [await cycle(store, f"name-{i}") for i in range(50)]
    keys = sorted([raw.decode() async for raw in client.scan_iter(match=f"{{{prefix}}}:*")])
    assert keys == [f"{{{prefix}}}:locks:tokens"]
    assert tokens == list(range(1, 51))
    await store.close()


@pytest.mark.redis
async def test_redis_tokens_continue_past_a_per_name_counter_of_an_earlier_version(
    tmp_path: Path, settings: Settings, connections: Connections
) -> None:
    url = backend_url("redis", tmp_path)
    prefix = url_option(url, "prefix")
    store = await open_lock_store(url, settings, connections)
    client = await connections.redis(url)
    await client.set(f"{{{prefix}}}:locks:token:old-job", 41)
    assert await cycle(store, "old-job") == 42
    assert await client.exists(f"{{{prefix}}}:locks:token:old-job") == 0
    assert await cycle(store, "new-job") == 43
    assert await cycle(store, "old-job") == 44
    await client.set(f"{{{prefix}}}:locks:token:older-job", 3)  # below the store's counter
    assert await cycle(store, "older-job") == 45
    await store.close()
