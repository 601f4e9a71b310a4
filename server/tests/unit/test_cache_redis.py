"""Redis-specific cache behaviour: key prefixes, glob escaping and unreachable servers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.redis.cache import glob_escape, open_cache_store
from concord_server.clock import SystemClock
from concord_server.config import Settings
from concord_server.domain.cache import CacheService, EntryInput
from concord_server.errors import ConcordError, ErrorCode
from tests.conftest import backend_url


def test_glob_escape_makes_patterns_literal() -> None:
    assert glob_escape("a*b?c[d]e\\f") == "a\\*b\\?c\\[d\\]e\\\\f"
    assert glob_escape("plain:key.1@x-y") == "plain:key.1@x-y"


@pytest.mark.redis
async def test_every_key_carries_the_url_prefix(
    tmp_path: Path, settings: Settings, connections: Connections
) -> None:
    url = backend_url("redis", tmp_path)
    prefix = url_option(url, "prefix")
    store = await open_cache_store(url, settings, connections)
    cache = CacheService(store, SystemClock())
    await cache.batch_set("ns", [EntryInput("a", 1), EntryInput("b", 2)])
    await cache.set("ns", EntryInput("c", 3, timedelta(seconds=30)))
    client = await connections.redis(url)
    keys = sorted([raw.decode() async for raw in client.scan_iter(match=prefix + ":*")])
    assert keys == [
        f"{prefix}:concord:cache:e:ns:a",
        f"{prefix}:concord:cache:e:ns:b",
        f"{prefix}:concord:cache:e:ns:c",
        f"{prefix}:concord:cache:expiries",
    ]
    await cache.delete_prefix("ns", "")
    assert [raw async for raw in client.scan_iter(match=prefix + ":*")] == []
    await store.close()


async def test_unreachable_redis_is_unavailable(settings: Settings) -> None:
    connections = Connections()
    try:
        store = await open_cache_store("redis://127.0.0.1:1/0", settings, connections)
        cache = CacheService(store, SystemClock())
        for call in (cache.get("ns", "k"), cache.set("ns", EntryInput("k", 1)), store.ping()):
            with pytest.raises(ConcordError) as info:
                await call
            assert info.value.code == ErrorCode.UNAVAILABLE
        with pytest.raises(ConcordError) as info:
            await cache.watch("ns", "")
        assert info.value.code == ErrorCode.UNAVAILABLE
    finally:
        await connections.close()
