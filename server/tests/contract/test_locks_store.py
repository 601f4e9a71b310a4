"""One suite for every LockStore backend: grants, fencing tokens, expiry, events, instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from concord_server.backends.connections import Connections
from concord_server.backends.registry import open_backend
from concord_server.clock import SystemClock
from concord_server.config import Settings
from concord_server.domain.locks import LockService
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.locks import (
    Conflict,
    LockEvent,
    LockEventType,
    LockRecord,
    LockStore,
    Refusal,
    RefusalReason,
)
from concord_server.pubsub import Subscription
from tests.conftest import backend_url

KINDS = ["memory", "sqlite", "redis", "postgres"]
LONG = timedelta(seconds=30)
SHORT = timedelta(milliseconds=80)
PAST_SHORT = 0.15  # seconds to sleep so that a SHORT grant has expired

Opener = Callable[[], Awaitable[LockStore]]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return str(request.param)


@pytest.fixture
async def open_store(kind: str, tmp_path: Path, settings: Settings) -> AsyncIterator[Opener]:
    """Opens stores on one engine URL, each with its own connections, like separate servers."""
    url = backend_url(kind, tmp_path)
    opened: list[tuple[LockStore, Connections]] = []

    async def open_one() -> LockStore:
        connections = Connections()
        store: LockStore = await open_backend("locks", url, settings, connections)
        opened.append((store, connections))
        return store

    yield open_one
    for store, connections in opened:
        await store.close()
        await connections.close()


@pytest.fixture
async def store(open_store: Opener) -> LockStore:
    """One store on a fresh namespace."""
    return await open_store()


def granted(outcome: LockRecord | Conflict) -> LockRecord:
    """The grant, failing the test on a conflict."""
    assert isinstance(outcome, LockRecord), outcome
    return outcome


async def next_event(subscription: Subscription[LockEvent]) -> LockEvent:
    """The next event, or a failure after two seconds."""
    return await asyncio.wait_for(subscription.get(), 2)


def shared_engine(kind: str) -> None:
    """Skips tests of several instances for the memory store, which is per process."""
    if kind == "memory":
        pytest.skip("memory stores are not shared between instances")


class TestLockStore:
    """The LockStore port's semantics, identical on every backend."""

    async def test_grant_is_visible_with_its_token_and_times(self, store: LockStore) -> None:
        grant = granted(await store.try_acquire("orders", "alice", LONG))
        assert (grant.name, grant.owner, grant.fencing_token, grant.ttl) == (
            "orders",
            "alice",
            1,
            LONG,
        )
        assert grant.expires_at - grant.acquired_at == LONG
        assert await store.get("orders") == grant
        assert await store.list("", "", 10) == [grant]

    async def test_other_owner_conflicts_without_learning_the_holder(
        self, store: LockStore
    ) -> None:
        grant = granted(await store.try_acquire("orders", "alice", LONG))
        outcome = await store.try_acquire("orders", "bob", LONG)
        assert outcome == Conflict("orders", grant.expires_at)
        assert await store.get("orders") == grant

    async def test_same_owner_reacquiring_gets_a_higher_token(self, store: LockStore) -> None:
        first = granted(await store.try_acquire("orders", "alice", LONG))
        second = granted(await store.try_acquire("orders", "alice", LONG))
        assert second.fencing_token > first.fencing_token
        assert await store.get("orders") == second
        refusal = await store.release("orders", "alice", first.fencing_token)
        assert refusal == Refusal(RefusalReason.NOT_HELD)

    async def test_tokens_increase_across_release_and_expiry(self, store: LockStore) -> None:
        first = granted(await store.try_acquire("job", "alice", LONG))
        assert isinstance(await store.release("job", "alice", first.fencing_token), LockRecord)
        second = granted(await store.try_acquire("job", "bob", SHORT))
        await asyncio.sleep(PAST_SHORT)
        third = granted(await store.try_acquire("job", "carol", LONG))
        assert [first.fencing_token, second.fencing_token, third.fencing_token] == [1, 2, 3]

    async def test_tokens_of_a_name_increase_whatever_other_names_take(
        self, store: LockStore
    ) -> None:
        first = granted(await store.try_acquire("a", "alice", LONG)).fencing_token
        second = granted(await store.try_acquire("a", "alice", LONG)).fencing_token
        other = granted(await store.try_acquire("b", "alice", LONG))
        assert await store.release("b", "alice", other.fencing_token) == other
        third = granted(await store.try_acquire("a", "alice", LONG)).fencing_token
        again = granted(await store.try_acquire("b", "bob", LONG)).fencing_token
        assert 0 < first < second < third
        assert again > other.fencing_token

    async def test_expired_lock_is_free_and_not_found(self, store: LockStore) -> None:
        granted(await store.try_acquire("job", "alice", SHORT))
        await asyncio.sleep(PAST_SHORT)
        assert await store.get("job") is None
        assert await store.list("", "", 10) == []
        assert granted(await store.try_acquire("job", "bob", LONG)).owner == "bob"

    async def test_renew_extends_and_keeps_the_token(self, store: LockStore) -> None:
        grant = granted(await store.try_acquire("job", "alice", SHORT))
        renewed = await store.renew("job", "alice", grant.fencing_token, LONG)
        assert isinstance(renewed, LockRecord)
        assert (renewed.fencing_token, renewed.ttl, renewed.acquired_at) == (
            grant.fencing_token,
            LONG,
            grant.acquired_at,
        )
        assert renewed.expires_at > grant.expires_at
        await asyncio.sleep(PAST_SHORT)
        assert await store.get("job") == renewed

    async def test_only_the_holder_may_renew_or_release(self, store: LockStore) -> None:
        grant = granted(await store.try_acquire("job", "alice", LONG))
        not_held = Refusal(RefusalReason.NOT_HELD)
        assert await store.renew("job", "bob", grant.fencing_token, LONG) == not_held
        assert await store.renew("job", "alice", grant.fencing_token + 1, LONG) == not_held
        assert await store.release("job", "bob", grant.fencing_token) == not_held
        assert await store.release("never-held", "alice", 1) == not_held
        assert await store.renew("never-held", "alice", 1, LONG) == not_held
        assert await store.get("job") == grant

    async def test_release_frees_the_lock_and_only_once(self, store: LockStore) -> None:
        grant = granted(await store.try_acquire("job", "alice", LONG))
        assert await store.release("job", "alice", grant.fencing_token) == grant
        assert await store.get("job") is None
        assert await store.release("job", "alice", grant.fencing_token) == Refusal(
            RefusalReason.NOT_HELD
        )
        assert await store.renew("job", "alice", grant.fencing_token, LONG) == Refusal(
            RefusalReason.NOT_HELD
        )

    async def test_late_holder_is_told_expired_until_someone_takes_over(
        self, store: LockStore
    ) -> None:
        grant = granted(await store.try_acquire("job", "alice", SHORT))
        await asyncio.sleep(PAST_SHORT)
        expired = Refusal(RefusalReason.EXPIRED, grant.expires_at)
        assert await store.renew("job", "alice", grant.fencing_token, LONG) == expired
        assert await store.release("job", "alice", grant.fencing_token) == expired
        assert await store.sweep_expired() == 1
        assert await store.renew("job", "alice", grant.fencing_token, LONG) == expired
        granted(await store.try_acquire("job", "bob", LONG))
        assert await store.release("job", "alice", grant.fencing_token) == Refusal(
            RefusalReason.NOT_HELD
        )

    async def test_list_by_prefix_in_name_order_after_a_name(self, store: LockStore) -> None:
        for name in ["b.2", "a.1", "b.1", "b.3", "c", "B.0"]:
            granted(await store.try_acquire(name, "alice", LONG))
        granted(await store.try_acquire("b.short", "alice", SHORT))
        released = granted(await store.try_acquire("b.gone", "alice", LONG))
        await store.release("b.gone", "alice", released.fencing_token)
        await asyncio.sleep(PAST_SHORT)

        def names(records: list[LockRecord]) -> list[str]:
            return [r.name for r in records]

        assert names(await store.list("", "", 100)) == ["B.0", "a.1", "b.1", "b.2", "b.3", "c"]
        assert names(await store.list("b.", "", 100)) == ["b.1", "b.2", "b.3"]
        assert names(await store.list("b.", "", 2)) == ["b.1", "b.2"]
        assert names(await store.list("b.", "b.2", 2)) == ["b.3"]
        assert names(await store.list("b.", "a", 2)) == ["b.1", "b.2"]
        assert names(await store.list("b.", "b.3", 2)) == []
        assert names(await store.list("zz", "", 2)) == []

    async def test_events_in_order(self, store: LockStore) -> None:
        subscription = await store.subscribe(lambda e: e.lock.name.startswith("job"))
        async with subscription:
            grant = granted(await store.try_acquire("job", "alice", LONG))
            granted(await store.try_acquire("other", "alice", LONG))
            await store.release("job", "alice", grant.fencing_token)
            acquired, released = await next_event(subscription), await next_event(subscription)
        assert (acquired.type, acquired.lock, acquired.occurred_at) == (
            LockEventType.ACQUIRED,
            grant,
            grant.acquired_at,
        )
        assert (released.type, released.lock) == (LockEventType.RELEASED, grant)
        assert released.occurred_at >= grant.acquired_at

    async def test_sweep_reports_each_expiry_once(self, store: LockStore) -> None:
        subscription = await store.subscribe(lambda e: e.type is LockEventType.EXPIRED)
        async with subscription:
            grant = granted(await store.try_acquire("job", "alice", SHORT))
            granted(await store.try_acquire("live", "alice", LONG))
            await asyncio.sleep(PAST_SHORT)
            assert await store.sweep_expired() == 1
            assert await store.sweep_expired() == 0
            event = await next_event(subscription)
            granted(await store.try_acquire("job", "bob", LONG))
            assert await store.sweep_expired() == 0
        assert (event.lock, event.occurred_at) == (grant, grant.expires_at)

    async def test_taking_over_an_unswept_expiry_reports_it_first(self, store: LockStore) -> None:
        subscription = await store.subscribe(lambda e: e.lock.name == "job")
        async with subscription:
            old = granted(await store.try_acquire("job", "alice", SHORT))
            await next_event(subscription)
            await asyncio.sleep(PAST_SHORT)
            new = granted(await store.try_acquire("job", "bob", LONG))
            expired, acquired = await next_event(subscription), await next_event(subscription)
            assert await store.sweep_expired() == 0
        assert (expired.type, expired.lock) == (LockEventType.EXPIRED, old)
        assert (acquired.type, acquired.lock) == (LockEventType.ACQUIRED, new)

    async def test_competing_acquires_grant_exactly_one(self, store: LockStore) -> None:
        outcomes = await asyncio.gather(
            *(store.try_acquire("hot", f"owner-{i}", LONG) for i in range(20))
        )
        grants = [o for o in outcomes if isinstance(o, LockRecord)]
        assert len(grants) == 1
        assert grants[0].fencing_token == 1

    async def test_contended_cycles_hand_out_distinct_increasing_tokens(
        self, store: LockStore
    ) -> None:
        tokens: list[int] = []

        async def cycle(owner: str) -> None:
            for _attempt in range(10_000):
                grant = await store.try_acquire("hot", owner, LONG)
                if isinstance(grant, LockRecord):
                    break
                await asyncio.sleep(0.002)
            assert isinstance(grant, LockRecord)
            tokens.append(grant.fencing_token)
            assert await store.release("hot", owner, grant.fencing_token) == grant

        await asyncio.gather(*(cycle(f"owner-{i}") for i in range(12)))
        assert tokens == list(range(1, 13))

    async def test_check_answers(self, store: LockStore) -> None:
        await store.check()


class TestSharedEngine:
    """Several store instances on one engine URL behave as one store (not for memory)."""

    async def test_instances_see_each_others_grants(self, kind: str, open_store: Opener) -> None:
        shared_engine(kind)
        one, two = await open_store(), await open_store()
        grant = granted(await one.try_acquire("job", "alice", LONG))
        assert await two.get("job") == grant
        assert isinstance(await two.try_acquire("job", "bob", LONG), Conflict)
        assert await two.release("job", "alice", grant.fencing_token) == grant
        assert granted(await one.try_acquire("job", "bob", LONG)).fencing_token == 2

    async def test_instances_compete_for_one_grant(self, kind: str, open_store: Opener) -> None:
        shared_engine(kind)
        one, two = await open_store(), await open_store()
        outcomes = await asyncio.gather(
            *((one if i % 2 else two).try_acquire("hot", f"owner-{i}", LONG) for i in range(20))
        )
        assert sum(isinstance(o, LockRecord) for o in outcomes) == 1

    async def test_tokens_continue_after_a_restart(self, kind: str, open_store: Opener) -> None:
        shared_engine(kind)
        before = await open_store()
        grant = granted(await before.try_acquire("job", "alice", LONG))
        await before.release("job", "alice", grant.fencing_token)
        await before.close()
        after = await open_store()
        assert granted(await after.try_acquire("job", "alice", LONG)).fencing_token == 2

    async def test_concurrent_sweeps_report_each_expiry_once(
        self, kind: str, open_store: Opener
    ) -> None:
        shared_engine(kind)
        one, two = await open_store(), await open_store()
        for i in range(10):
            granted(await one.try_acquire(f"job-{i}", "alice", SHORT))
        await asyncio.sleep(PAST_SHORT)
        counts = await asyncio.gather(*(s.sweep_expired(3) for s in (one, two, one, two, one)))
        counts += [await one.sweep_expired(), await two.sweep_expired()]
        assert sum(counts) == 10

    async def test_events_reach_other_instances(self, kind: str, open_store: Opener) -> None:
        shared_engine(kind)
        if kind == "sqlite":
            pytest.skip("SQLite notifications stay inside one instance (documented)")
        one, two = await open_store(), await open_store()
        subscription = await two.subscribe(lambda e: True)
        async with subscription:
            grant = granted(await one.try_acquire("job", "alice", LONG))
            event = await next_event(subscription)
        assert (event.type, event.lock) == (LockEventType.ACQUIRED, grant)

    async def test_a_waiter_wakes_when_another_instance_releases(
        self, kind: str, open_store: Opener
    ) -> None:
        shared_engine(kind)
        one, two = await open_store(), await open_store()
        # Redis and PostgreSQL must wake the waiter by notification (polling is made useless
        # here); SQLite instances learn of each other's releases by polling.
        poll_max = 0.05 if kind == "sqlite" else 60.0
        waiting = LockService(two, SystemClock(), poll_initial=poll_max, poll_max=poll_max)
        held = granted(await one.try_acquire("job", "alice", LONG))
        waiter = asyncio.create_task(waiting.acquire("job", "bob", LONG, timedelta(seconds=30)))
        await asyncio.sleep(0.1)
        assert not waiter.done()
        await one.release("job", "alice", held.fencing_token)
        grant = await asyncio.wait_for(waiter, 5)
        assert (grant.owner, grant.fencing_token) == ("bob", 2)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:1/0?prefix=x", "postgresql://postgres@127.0.0.1:1/concord"]
)
async def test_an_unreachable_engine_is_unavailable(url: str, settings: Settings) -> None:
    connections = Connections()
    try:
        with pytest.raises(ConcordError) as caught:
            await open_backend("locks", url, settings, connections)
    finally:
        await connections.close()
    assert caught.value.code is ErrorCode.UNAVAILABLE


async def test_a_postgres_schema_must_be_a_plain_identifier(
    settings: Settings, connections: Connections
) -> None:
    with pytest.raises(ConcordError) as caught:
        await open_backend("locks", 'postgresql://h/db?schema=x";drop', settings, connections)
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
