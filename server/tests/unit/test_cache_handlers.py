"""CacheService handlers called with real contract messages."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf import duration_pb2, struct_pb2

from concord_server._gen.concord.v1 import cache_pb2
from concord_server.api import convert
from concord_server.api.handlers.cache import CacheHandlers, wire
from concord_server.backends.connections import Connections
from concord_server.backends.memory.cache import MemoryCacheStore
from concord_server.clock import ManualClock
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.domain.cache import CacheService
from concord_server.errors import ConcordError, ErrorCode

CTX = CallContext(request_id="t")


@pytest.fixture
def clock() -> ManualClock:
    """A clock the tests move by hand."""
    return ManualClock()


@pytest.fixture
def handlers(clock: ManualClock) -> CacheHandlers:
    """Handlers over a memory store."""
    return CacheHandlers(CacheService(MemoryCacheStore(), clock))


def set_request(key: str, value: object, **extra: Any) -> cache_pb2.SetCacheEntryRequest:
    """A SetCacheEntryRequest in namespace `ns`."""
    return cache_pb2.SetCacheEntryRequest(
        namespace="ns", key=key, value=convert.value(value), **extra
    )


async def test_set_then_get(handlers: CacheHandlers, clock: ManualClock) -> None:
    ttl = duration_pb2.Duration(seconds=5)
    written = await handlers.SetCacheEntry(set_request("k", {"a": [1, "x"]}, ttl=ttl), CTX)
    got = await handlers.GetCacheEntry(cache_pb2.GetCacheEntryRequest(namespace="ns", key="k"), CTX)
    assert got.entry == written.entry
    assert convert.to_python(got.entry.value) == {"a": [1, "x"]}
    assert convert.to_datetime(got.entry.updated_at) == clock.now()
    assert convert.to_datetime(got.entry.expires_at) == clock.now() + timedelta(seconds=5)


async def test_entry_without_ttl_has_no_expiry(handlers: CacheHandlers) -> None:
    written = await handlers.SetCacheEntry(set_request("k", "v"), CTX)
    assert not written.entry.HasField("expires_at")
    assert written.entry.etag


async def test_empty_value_is_rejected(handlers: CacheHandlers) -> None:
    request = cache_pb2.SetCacheEntryRequest(namespace="ns", key="k", value=struct_pb2.Value())
    with pytest.raises(ConcordError) as info:
        await handlers.SetCacheEntry(request, CTX)
    assert info.value.code == ErrorCode.INVALID_ARGUMENT


async def test_conditional_writes_fail_with_details(handlers: CacheHandlers) -> None:
    first = await handlers.SetCacheEntry(set_request("k", 1), CTX)
    with pytest.raises(ConcordError) as info:
        await handlers.SetCacheEntry(set_request("k", 2, create_only=True), CTX)
    assert info.value.code == ErrorCode.PRECONDITION_FAILED
    assert info.value.details["current_etag"] == first.entry.etag
    request = cache_pb2.DeleteCacheEntryRequest(namespace="ns", key="k", if_match="stale")
    with pytest.raises(ConcordError) as info:
        await handlers.DeleteCacheEntry(request, CTX)
    assert info.value.code == ErrorCode.PRECONDITION_FAILED


async def test_get_and_delete_missing(handlers: CacheHandlers) -> None:
    with pytest.raises(ConcordError) as info:
        await handlers.GetCacheEntry(cache_pb2.GetCacheEntryRequest(namespace="ns", key="k"), CTX)
    assert info.value.code == ErrorCode.NOT_FOUND
    request = cache_pb2.DeleteCacheEntryRequest(namespace="ns", key="k")
    assert (await handlers.DeleteCacheEntry(request, CTX)).deleted is False


async def test_batches_and_prefix_delete(handlers: CacheHandlers) -> None:
    inputs = [cache_pb2.CacheEntryInput(key=k, value=convert.value(i)) for i, k in enumerate("abc")]
    inputs[1].ttl.FromTimedelta(timedelta(seconds=1))
    written = await handlers.BatchSetCacheEntries(
        cache_pb2.BatchSetCacheEntriesRequest(namespace="ns", entries=inputs), CTX
    )
    assert [e.key for e in written.entries] == ["a", "b", "c"]
    assert written.entries[1].HasField("expires_at")
    got = await handlers.BatchGetCacheEntries(
        cache_pb2.BatchGetCacheEntriesRequest(namespace="ns", keys=["c", "z", "a"]), CTX
    )
    assert [e.key for e in got.entries] == ["c", "a"]
    assert list(got.missing_keys) == ["z"]
    deleted = await handlers.DeleteCacheEntriesByPrefix(
        cache_pb2.DeleteCacheEntriesByPrefixRequest(namespace="ns"), CTX
    )
    assert deleted.deleted_count == 3


async def test_batch_set_with_duplicate_keys_is_rejected(handlers: CacheHandlers) -> None:
    entry = cache_pb2.CacheEntryInput(key="a", value=convert.value(1))
    request = cache_pb2.BatchSetCacheEntriesRequest(namespace="ns", entries=[entry, entry])
    with pytest.raises(ConcordError) as info:
        await handlers.BatchSetCacheEntries(request, CTX)
    assert info.value.code == ErrorCode.INVALID_ARGUMENT


async def test_watch_streams_invalidations(handlers: CacheHandlers, clock: ManualClock) -> None:
    stream = await handlers.WatchCache(cache_pb2.WatchCacheRequest(namespace="ns", prefix="k"), CTX)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    await handlers.SetCacheEntry(set_request("other", 1), CTX)
    written = await handlers.SetCacheEntry(set_request("k1", 1), CTX)
    await handlers.DeleteCacheEntry(
        cache_pb2.DeleteCacheEntryRequest(namespace="ns", key="k1"), CTX
    )
    set_event = await asyncio.wait_for(first, 1)
    deleted_event = await asyncio.wait_for(anext(stream), 1)
    await stream.aclose()
    assert set_event.type == cache_pb2.CACHE_EVENT_TYPE_SET
    assert (set_event.key, set_event.etag) == ("k1", written.entry.etag)
    assert convert.to_datetime(set_event.occurred_at) == clock.now()
    assert deleted_event.type == cache_pb2.CACHE_EVENT_TYPE_DELETED


async def test_wire_builds_handlers_and_sweeper(
    settings: Settings, connections: Connections, clock: ManualClock
) -> None:
    wired = await wire(settings.model_copy(update={"cache_url": "memory://"}), connections, clock)
    [handler] = wired.handlers
    [component] = wired.components
    assert isinstance(handler, CacheHandlers) and handler.SERVICE == "concord.v1.CacheService"
    assert (component.name, component.backend) == ("cache", "memory")
    await component.start()
    await component.check()
    await component.stop()


async def test_wire_rejects_unknown_schemes(
    settings: Settings, connections: Connections, clock: ManualClock
) -> None:
    with pytest.raises(ConcordError) as info:
        await wire(settings.model_copy(update={"cache_url": "etcd://x:1"}), connections, clock)
    assert info.value.code == ErrorCode.INVALID_ARGUMENT
