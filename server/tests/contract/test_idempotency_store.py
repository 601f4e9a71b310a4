"""One suite for every idempotency store backend: memory, Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from concord_server.backends import registry
from concord_server.backends.connections import Connections
from concord_server.backends.memory.idempotency import MemoryIdempotencyStore
from concord_server.config import Settings
from concord_server.errors import ConcordError
from concord_server.ports.idempotency import IdempotencyRecord, IdempotencyStore
from tests.conftest import backend_url

Opener = Callable[..., Awaitable[IdempotencyStore]]
LEASE = timedelta(seconds=30)
DAY = timedelta(hours=24)
FP = "a" * 64
OTHER_FP = "b" * 64


@pytest.fixture(params=["memory", "redis", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_store(kind: str, tmp_path: Path, connections: Connections) -> Opener:
    """Opens stores on one shared URL (a memory store is shared by handing back the same one)."""
    url = backend_url(kind, tmp_path)
    opened: list[IdempotencyStore] = []

    async def opener(conns: Connections | None = None) -> IdempotencyStore:
        if kind == "memory" and opened:
            return opened[0]
        store: IdempotencyStore = await registry.open_backend(
            "idempotency", url, Settings(data_dir=tmp_path), conns or connections
        )
        opened.append(store)
        return store

    return opener


async def test_first_begin_claims_then_others_see_the_marker(open_store: Opener) -> None:
    store = await open_store()
    assert await store.begin("k", FP, "owner-1", LEASE) is None
    assert await store.begin("k", FP, "owner-2", LEASE) == IdempotencyRecord(FP, None)
    assert await store.begin("k", OTHER_FP, "owner-3", LEASE) == IdempotencyRecord(FP, None)


async def test_complete_stores_the_answer_bytes(open_store: Opener) -> None:
    store = await open_store()
    await store.begin("k", FP, "o", LEASE)
    answer = b"R\x00\x01binary\nanswer\xff"
    await store.complete("k", FP, answer, DAY)
    assert await store.begin("k", FP, "o2", LEASE) == IdempotencyRecord(FP, answer)
    assert await store.begin("k", OTHER_FP, "o3", LEASE) == IdempotencyRecord(FP, answer)


async def test_empty_answer_is_an_answer(open_store: Opener) -> None:
    store = await open_store()
    await store.begin("k", FP, "o", LEASE)
    await store.complete("k", FP, b"", DAY)
    assert await store.begin("k", FP, "o2", LEASE) == IdempotencyRecord(FP, b"")


async def test_keys_are_independent(open_store: Opener) -> None:
    store = await open_store()
    assert await store.begin('["alice","/x/Y","k"]', FP, "o", LEASE) is None
    assert await store.begin('["bob","/x/Y","k"]', FP, "o", LEASE) is None
    assert await store.begin("k with spaces and ünïcode", FP, "o", LEASE) is None


async def test_release_by_the_owner_frees_the_key(open_store: Opener) -> None:
    store = await open_store()
    await store.begin("k", FP, "owner-1", LEASE)
    await store.release("k", "someone-else")
    assert await store.begin("k", FP, "owner-2", LEASE) == IdempotencyRecord(FP, None)
    await store.release("k", "owner-1")
    assert await store.begin("k", OTHER_FP, "owner-2", LEASE) is None


async def test_release_never_removes_an_answer(open_store: Opener) -> None:
    store = await open_store()
    await store.begin("k", FP, "owner-1", LEASE)
    await store.complete("k", FP, b"answer", DAY)
    await store.release("k", "owner-1")
    assert await store.begin("k", FP, "o", LEASE) == IdempotencyRecord(FP, b"answer")


async def test_an_expired_marker_frees_the_key(open_store: Opener) -> None:
    store = await open_store()
    await store.begin("k", FP, "crashed", timedelta(milliseconds=200))
    await asyncio.sleep(0.4)
    assert await store.begin("k", OTHER_FP, "next", LEASE) is None


async def test_an_expired_answer_is_forgotten(open_store: Opener) -> None:
    store = await open_store()
    await store.begin("k", FP, "o", LEASE)
    await store.complete("k", FP, b"answer", timedelta(milliseconds=200))
    await asyncio.sleep(0.4)
    assert await store.begin("k", OTHER_FP, "o2", LEASE) is None


async def test_concurrent_begins_claim_once(open_store: Opener) -> None:
    store = await open_store()
    results = await asyncio.gather(*(store.begin("k", FP, f"o{i}", LEASE) for i in range(20)))
    assert sum(r is None for r in results) == 1
    assert all(r == IdempotencyRecord(FP, None) for r in results if r is not None)


async def test_instances_on_one_storage_share_keys(open_store: Opener, kind: str) -> None:
    first = await open_store()
    other_conns = Connections()
    try:
        second = await open_store(conns=other_conns)
        assert await first.begin("shared", FP, "o1", LEASE) is None
        assert await second.begin("shared", FP, "o2", LEASE) == IdempotencyRecord(FP, None)
        await first.complete("shared", FP, b"x", DAY)
        assert await second.begin("shared", FP, "o2", LEASE) == IdempotencyRecord(FP, b"x")
    finally:
        await other_conns.close()


async def test_ping_answers(open_store: Opener) -> None:
    await (await open_store()).ping()


async def test_memory_store_drops_the_least_recently_used() -> None:
    store = MemoryIdempotencyStore(max_entries=2)
    await store.begin("a", FP, "o", LEASE)
    await store.begin("b", FP, "o", LEASE)
    await store.begin("a", FP, "o", LEASE)  # a is used again: b is now the oldest
    await store.begin("c", FP, "o", LEASE)
    assert store.size == 2
    assert await store.begin("a", FP, "o", LEASE) == IdempotencyRecord(FP, None)
    assert await store.begin("b", FP, "o", LEASE) is None  # forgotten, so claimed afresh


async def test_memory_store_drops_the_least_recently_used_past_its_byte_budget() -> None:
    store = MemoryIdempotencyStore(max_bytes=10_000)
    answer = b"R" + bytes(3_000)
    for key in ("a", "b", "c", "d"):
        await store.begin(key, FP, "o", LEASE)
        await store.complete(key, FP, answer, DAY)
    assert store.size < 4
    assert 0 < store.bytes_used <= 10_000
    assert await store.begin("d", FP, "o", LEASE) == IdempotencyRecord(FP, answer)
    assert await store.begin("a", FP, "o", LEASE) is None  # forgotten, so claimed afresh


async def test_memory_store_keeps_an_answer_larger_than_its_budget_alone() -> None:
    store = MemoryIdempotencyStore(max_bytes=1_000)
    await store.begin("a", FP, "o", LEASE)
    await store.complete("a", FP, bytes(5_000), DAY)
    assert await store.begin("a", FP, "o", LEASE) == IdempotencyRecord(FP, bytes(5_000))
    await store.begin("b", FP, "o", LEASE)
    assert store.size == 1
    await store.release("b", "o")
    assert (store.size, store.bytes_used) == (0, 0)


async def test_bad_options_are_refused(tmp_path: Path, connections: Connections) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ConcordError):
        await registry.open_backend("idempotency", "memory://?max_entries=0", settings, connections)
    with pytest.raises(ConcordError):
        await registry.open_backend("idempotency", "memory://?max_bytes=x", settings, connections)
    with pytest.raises(ConcordError):
        await registry.open_backend("idempotency", "sqlite://", settings, connections)
    with pytest.raises(ConcordError):
        url = "postgresql://nobody@127.0.0.1:1/db?schema=bad-name"
        await registry.open_backend("idempotency", url, settings, connections)
