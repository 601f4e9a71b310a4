"""The cache contract, run against every CacheStore backend through the cache domain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.registry import open_backend
from concord_server.clock import SystemClock
from concord_server.config import Settings
from concord_server.domain.cache import CacheService, EntryInput
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.cache import CacheEvent, CacheEventType, CacheStore
from concord_server.pubsub import Subscription
from tests.conftest import backend_url

MakeService = Callable[[], Awaitable[CacheService]]
SHARED_ENGINES = {"redis"}
TTL = timedelta(milliseconds=150)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def kind(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return str(request.param)


@pytest.fixture
async def make_service(
    kind: str, tmp_path: Path, settings: Settings, connections: Connections
) -> AsyncIterator[MakeService]:
    """Opens cache services on one URL (two of them act as two server processes)."""
    url = backend_url(kind, tmp_path)
    stores: list[CacheStore] = []

    async def make() -> CacheService:
        store: CacheStore = await open_backend("cache", url, settings, connections)
        stores.append(store)
        return CacheService(store, SystemClock(), watch_queue_limit=100)

    yield make
    for store in stores:
        await store.close()
    if kind == "redis":
        client = await connections.redis(url)
        async for raw in client.scan_iter(match=url_option(url, "prefix") + ":*"):
            await client.delete(raw)


@pytest.fixture
async def cache(make_service: MakeService) -> CacheService:
    """One cache service."""
    return await make_service()


async def next_event(sub: Subscription[CacheEvent]) -> CacheEvent:
    """The next event of a watch, failing the test if none comes within 3 s."""
    return await asyncio.wait_for(sub.get(), 3.0)


async def expect_error(code: ErrorCode, call: Awaitable[Any]) -> ConcordError:
    """Awaits a call that must fail with `code`."""
    with pytest.raises(ConcordError) as info:
        await call
    assert info.value.code == code, info.value
    return info.value


class TestCacheStore:
    """Every backend honours the same cache semantics."""

    @pytest.mark.parametrize(
        "value", [{"a": [1, 2.5, None, True]}, [1, "x"], "text", 42, 0.5, False, None, {}]
    )
    async def test_any_json_value_round_trips(self, cache: CacheService, value: Any) -> None:
        written = await cache.set("ns", EntryInput("k", value))
        read = await cache.get("ns", "k")
        assert read.value() == value
        assert read.etag == written.etag
        assert read.expires_at is None
        assert read.updated_at == written.updated_at

    async def test_missing_entry_is_not_found(self, cache: CacheService) -> None:
        await expect_error(ErrorCode.NOT_FOUND, cache.get("ns", "absent"))

    async def test_namespaces_are_isolated(self, cache: CacheService) -> None:
        await cache.set("one", EntryInput("k", 1))
        await cache.set("one0", EntryInput("k", 10))
        await expect_error(ErrorCode.NOT_FOUND, cache.get("two", "k"))
        assert (await cache.get("one", "k")).value() == 1
        assert await cache.delete_prefix("one", "") == 1
        assert (await cache.get("one0", "k")).value() == 10

    async def test_etag_changes_on_every_write(self, cache: CacheService) -> None:
        etags = {(await cache.set("ns", EntryInput("k", "same"))).etag for _ in range(5)}
        assert len(etags) == 5
        assert all(etag and '"' not in etag for etag in etags)

    async def test_if_match_sets_only_on_the_current_etag(self, cache: CacheService) -> None:
        first = await cache.set("ns", EntryInput("k", 1))
        second = await cache.set("ns", EntryInput("k", 2), if_match=first.etag)
        error = await expect_error(
            ErrorCode.PRECONDITION_FAILED, cache.set("ns", EntryInput("k", 3), if_match=first.etag)
        )
        assert error.details["current_etag"] == second.etag
        assert (await cache.get("ns", "k")).value() == 2

    async def test_if_match_on_a_missing_entry_reports_no_etag(self, cache: CacheService) -> None:
        error = await expect_error(
            ErrorCode.PRECONDITION_FAILED, cache.set("ns", EntryInput("k", 1), if_match="nope")
        )
        assert error.details["current_etag"] is None
        await expect_error(ErrorCode.NOT_FOUND, cache.get("ns", "k"))

    async def test_create_only_refuses_an_existing_entry(self, cache: CacheService) -> None:
        created = await cache.set("ns", EntryInput("k", 1), create_only=True)
        error = await expect_error(
            ErrorCode.PRECONDITION_FAILED, cache.set("ns", EntryInput("k", 2), create_only=True)
        )
        assert error.details == {"current_etag": created.etag, "reason": "entry already exists"}
        assert (await cache.get("ns", "k")).value() == 1

    async def test_ttl_hides_expired_entries(self, cache: CacheService) -> None:
        written = await cache.set("ns", EntryInput("k", 1, TTL))
        assert written.expires_at == written.updated_at + TTL
        assert (await cache.get("ns", "k")).expires_at == written.expires_at
        await asyncio.sleep(0.25)
        await expect_error(ErrorCode.NOT_FOUND, cache.get("ns", "k"))
        assert (await cache.batch_get("ns", ["k"])).missing_keys == ["k"]

    async def test_create_only_succeeds_after_expiry(self, cache: CacheService) -> None:
        await cache.set("ns", EntryInput("k", 1, TTL))
        await asyncio.sleep(0.25)
        assert (await cache.set("ns", EntryInput("k", 2), create_only=True)).value() == 2

    async def test_rewrite_without_ttl_removes_the_expiry(self, cache: CacheService) -> None:
        await cache.set("ns", EntryInput("k", 1, TTL))
        rewritten = await cache.set("ns", EntryInput("k", 2))
        assert rewritten.expires_at is None
        await asyncio.sleep(0.25)
        assert (await cache.get("ns", "k")).value() == 2

    async def test_delete_reports_whether_it_deleted(self, cache: CacheService) -> None:
        await cache.set("ns", EntryInput("k", 1))
        assert await cache.delete("ns", "k") is True
        assert await cache.delete("ns", "k") is False
        await expect_error(ErrorCode.NOT_FOUND, cache.get("ns", "k"))

    async def test_delete_if_match(self, cache: CacheService) -> None:
        first = await cache.set("ns", EntryInput("k", 1))
        second = await cache.set("ns", EntryInput("k", 2))
        error = await expect_error(
            ErrorCode.PRECONDITION_FAILED, cache.delete("ns", "k", if_match=first.etag)
        )
        assert error.details["current_etag"] == second.etag
        assert await cache.delete("ns", "k", if_match=second.etag) is True
        error = await expect_error(
            ErrorCode.PRECONDITION_FAILED, cache.delete("ns", "k", if_match=second.etag)
        )
        assert error.details["current_etag"] is None

    async def test_batch_get_keeps_request_order(self, cache: CacheService) -> None:
        for key in ("a", "b", "c"):
            await cache.set("ns", EntryInput(key, key.upper()))
        result = await cache.batch_get("ns", ["c", "x", "a", "y", "b"])
        assert [e.key for e in result.entries] == ["c", "a", "b"]
        assert [e.value() for e in result.entries] == ["C", "A", "B"]
        assert result.missing_keys == ["x", "y"]

    async def test_batch_set_writes_every_entry(self, cache: CacheService) -> None:
        written = await cache.batch_set(
            "ns", [EntryInput("a", 1), EntryInput("b", {"x": 2}, TTL), EntryInput("c", None)]
        )
        assert [e.key for e in written] == ["a", "b", "c"]
        assert len({e.etag for e in written}) == 3
        assert written[1].expires_at is not None and written[0].expires_at is None
        read = await cache.batch_get("ns", ["a", "b", "c"])
        assert [(e.value(), e.etag) for e in read.entries] == [(e.value(), e.etag) for e in written]
        await asyncio.sleep(0.25)
        assert (await cache.batch_get("ns", ["a", "b", "c"])).missing_keys == ["b"]

    async def test_batch_set_rejects_duplicate_keys(self, cache: CacheService) -> None:
        await expect_error(
            ErrorCode.INVALID_ARGUMENT,
            cache.batch_set("ns", [EntryInput("a", 1), EntryInput("a", 2)]),
        )
        assert (await cache.batch_get("ns", ["a"])).missing_keys == ["a"]

    async def test_delete_by_prefix_counts_and_spares_others(self, cache: CacheService) -> None:
        await cache.batch_set("ns", [EntryInput(k, 0) for k in ("user:1", "user:2", "userx", "u")])
        await cache.set("other", EntryInput("user:1", 0))
        assert await cache.delete_prefix("ns", "user:") == 2
        assert (await cache.batch_get("ns", ["user:1", "userx", "u"])).missing_keys == ["user:1"]
        assert (await cache.get("other", "user:1")).value() == 0
        assert await cache.delete_prefix("ns", "") == 2
        assert await cache.delete_prefix("ns", "") == 0

    @pytest.mark.parametrize("prefix", ["*", "?", "[u]", "u*", "\\"])
    async def test_delete_by_prefix_treats_glob_characters_literally(
        self, cache: CacheService, prefix: str
    ) -> None:
        await cache.batch_set("ns", [EntryInput("u", 0), EntryInput("user", 0)])
        assert await cache.delete_prefix("ns", prefix) == 0
        assert (await cache.batch_get("ns", ["u", "user"])).missing_keys == []

    async def test_delete_by_prefix_handles_many_entries(self, cache: CacheService) -> None:
        await cache.batch_set("ns", [EntryInput(f"k{i:04}", i) for i in range(1000)])
        await cache.set("ns", EntryInput("other", 0))
        assert await cache.delete_prefix("ns", "k") == 1000
        assert (await cache.get("ns", "other")).value() == 0

    async def test_expired_entries_are_not_counted_by_prefix(self, cache: CacheService) -> None:
        await cache.batch_set("ns", [EntryInput("a", 0, TTL), EntryInput("b", 0)])
        await asyncio.sleep(0.25)
        assert await cache.delete_prefix("ns", "") == 1

    async def test_watch_streams_sets_and_deletes(self, cache: CacheService) -> None:
        async with await cache.watch("ns", "") as sub:
            written = await cache.set("ns", EntryInput("k", 1))
            await cache.set("elsewhere", EntryInput("k", 1))
            await cache.delete("ns", "k")
            await cache.batch_set("ns", [EntryInput("b1", 1), EntryInput("b2", 2)])
            await cache.delete_prefix("ns", "b")
            events = [await next_event(sub) for _ in range(6)]
        assert [(e.type, e.key) for e in events[:4]] == [
            (CacheEventType.SET, "k"),
            (CacheEventType.DELETED, "k"),
            (CacheEventType.SET, "b1"),
            (CacheEventType.SET, "b2"),
        ]
        deleted_by_prefix = {(e.type, e.key) for e in events[4:]}  # in no particular order
        assert deleted_by_prefix == {(CacheEventType.DELETED, "b1"), (CacheEventType.DELETED, "b2")}
        assert events[0].etag == written.etag and events[1].etag == ""
        assert all(e.namespace == "ns" for e in events)

    async def test_watch_filters_by_prefix(self, cache: CacheService) -> None:
        async with await cache.watch("ns", "user:") as sub:
            await cache.set("ns", EntryInput("order:1", 1))
            await cache.set("ns", EntryInput("user:1", 1))
            event = await next_event(sub)
        assert (event.type, event.key) == (CacheEventType.SET, "user:1")

    async def test_watch_reports_expiry_once(self, make_service: MakeService) -> None:
        cache = await make_service()
        async with await cache.watch("ns", "") as sub:
            await cache.set("ns", EntryInput("k", 1, TTL))
            assert (await next_event(sub)).type == CacheEventType.SET
            await asyncio.sleep(0.25)
            swept = await asyncio.gather(cache.sweep(), cache.sweep())
            event = await next_event(sub)
            assert sum(swept) == 1
            assert (event.type, event.key, event.etag) == (CacheEventType.EXPIRED, "k", "")
            assert await cache.sweep() == 0

    async def test_competing_create_only_writes_admit_one(self, cache: CacheService) -> None:
        attempts = [cache.set("ns", EntryInput("k", i), create_only=True) for i in range(20)]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, ConcordError)]
        assert len(winners) == 1 and len(losers) == 19
        assert all(e.code == ErrorCode.PRECONDITION_FAILED for e in losers)

    async def test_competing_compare_and_set_admits_one(self, cache: CacheService) -> None:
        base = await cache.set("ns", EntryInput("k", 0))
        attempts = [cache.set("ns", EntryInput("k", i), if_match=base.etag) for i in range(20)]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        winners = [r for r in results if not isinstance(r, BaseException)]
        assert len(winners) == 1
        assert (await cache.get("ns", "k")).etag == winners[0].etag


class TestTwoProcesses:
    """Two stores on one engine URL act as two server processes sharing the cache."""

    @pytest.fixture(autouse=True)
    def _shared_only(self, kind: str) -> None:
        if kind not in SHARED_ENGINES:
            pytest.skip("memory:// is private to one process")

    async def test_writes_are_visible_to_the_other(self, make_service: MakeService) -> None:
        one, two = await make_service(), await make_service()
        written = await one.set("ns", EntryInput("k", {"v": 1}))
        assert (await two.get("ns", "k")).etag == written.etag
        assert await two.delete("ns", "k", if_match=written.etag) is True
        await expect_error(ErrorCode.NOT_FOUND, one.get("ns", "k"))

    async def test_compare_and_set_across_processes_admits_one(
        self, make_service: MakeService
    ) -> None:
        one, two = await make_service(), await make_service()
        base = await one.set("ns", EntryInput("k", 0))
        attempts = [
            svc.set("ns", EntryInput("k", i), if_match=base.etag)
            for i, svc in enumerate([one, two] * 10)
        ]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        assert len([r for r in results if not isinstance(r, BaseException)]) == 1

    async def test_watch_sees_the_other_process_writes(self, make_service: MakeService) -> None:
        one, two = await make_service(), await make_service()
        async with await two.watch("ns", "") as sub:
            written = await one.set("ns", EntryInput("k", 1, TTL))
            event = await next_event(sub)
            assert (event.type, event.etag) == (CacheEventType.SET, written.etag)
            await asyncio.sleep(0.25)
            assert await one.sweep() == 1
            assert (await next_event(sub)).type == CacheEventType.EXPIRED
