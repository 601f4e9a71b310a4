"""Lock rules on the memory store: conflicts, waiting in line, errors, paging, watching, sweeps."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from concord_server.backends.memory.locks import MemoryLockStore
from concord_server.clock import ManualClock, SystemClock
from concord_server.domain.locks import (
    LockComponent,
    LockService,
    decode_page_token,
    encode_page_token,
    wire_time,
)
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.locks import LockEvent, LockEventType

LONG = timedelta(seconds=30)


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves."""
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> MemoryLockStore:
    """A memory store on the manual clock."""
    return MemoryLockStore(clock)


@pytest.fixture
def service(store: MemoryLockStore, clock: ManualClock) -> LockService:
    """The lock rules on the memory store."""
    return LockService(store, clock)


def real_service(**options: float) -> tuple[LockService, MemoryLockStore]:
    """A service and store on the real clock, for tests of notifications."""
    store = MemoryLockStore(SystemClock())
    return LockService(store, SystemClock(), **options), store


async def test_conflict_names_the_lock_and_expiry_but_not_the_holder(
    service: LockService,
) -> None:
    held = await service.acquire("orders", "alice", LONG)
    with pytest.raises(ConcordError) as caught:
        await service.acquire("orders", "bob", LONG)
    assert caught.value.code is ErrorCode.LOCK_CONFLICT
    assert caught.value.details == {"name": "orders", "expires_at": wire_time(held.expires_at)}
    assert "alice" not in caught.value.message


async def test_zero_wait_timeout_fails_at_once(service: LockService, clock: ManualClock) -> None:
    await service.acquire("orders", "alice", LONG)
    start = clock.now()
    with pytest.raises(ConcordError) as caught:
        await service.acquire("orders", "bob", LONG, timedelta(0))
    assert caught.value.code is ErrorCode.LOCK_CONFLICT
    assert clock.now() == start


async def test_waiter_gets_the_lock_when_the_holders_ttl_runs_out(
    service: LockService, clock: ManualClock
) -> None:
    held = await service.acquire("orders", "alice", timedelta(seconds=10))
    grant = await service.acquire("orders", "bob", LONG, wait_timeout=timedelta(seconds=30))
    assert (grant.owner, grant.fencing_token) == ("bob", held.fencing_token + 1)
    assert held.expires_at <= grant.acquired_at < held.expires_at + timedelta(seconds=1)


async def test_waiter_gives_up_after_its_wait_timeout(
    service: LockService, clock: ManualClock
) -> None:
    held = await service.acquire("orders", "alice", timedelta(seconds=60))
    start = clock.now()
    with pytest.raises(ConcordError) as caught:
        await service.acquire("orders", "bob", LONG, wait_timeout=timedelta(seconds=5))
    assert caught.value.code is ErrorCode.LOCK_CONFLICT
    assert caught.value.details["expires_at"] == wire_time(held.expires_at)
    assert clock.now() - start == timedelta(seconds=5)


async def test_waiter_wakes_on_release_without_polling() -> None:
    service, _ = real_service(poll_initial=60.0, poll_max=60.0)
    held = await service.acquire("orders", "alice", LONG)
    waiter = asyncio.create_task(
        service.acquire("orders", "bob", LONG, wait_timeout=timedelta(seconds=30))
    )
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await service.release("orders", "alice", held.fencing_token)
    grant = await asyncio.wait_for(waiter, 2)
    assert (grant.owner, grant.fencing_token) == ("bob", 2)


async def test_waiters_are_served_in_arrival_order() -> None:
    service, _ = real_service(poll_initial=60.0, poll_max=60.0)
    held = await service.acquire("orders", "holder", LONG)
    served: list[str] = []

    async def wait_then_release(owner: str) -> None:
        grant = await service.acquire("orders", owner, LONG, wait_timeout=timedelta(seconds=30))
        served.append(owner)
        await service.release("orders", owner, grant.fencing_token)

    owners = [f"waiter-{i}" for i in range(5)]
    tasks = []
    for owner in owners:
        tasks.append(asyncio.create_task(wait_then_release(owner)))
        await asyncio.sleep(0.01)
    await service.release("orders", "holder", held.fencing_token)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert served == owners


async def test_a_cancelled_waiter_leaves_the_line() -> None:
    service, store = real_service()
    held = await service.acquire("orders", "alice", LONG)
    waiter = asyncio.create_task(
        service.acquire("orders", "bob", LONG, wait_timeout=timedelta(seconds=30))
    )
    await asyncio.sleep(0.02)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await service.release("orders", "alice", held.fencing_token)
    assert await store.get("orders") is None
    grant = await service.acquire("orders", "carol", LONG, wait_timeout=timedelta(seconds=1))
    assert grant.owner == "carol"


async def test_renew_and_release_refusals_are_contract_errors(
    service: LockService, clock: ManualClock
) -> None:
    grant = await service.acquire("job", "alice", timedelta(seconds=5))
    with pytest.raises(ConcordError) as not_held:
        await service.renew("job", "mallory", grant.fencing_token, LONG)
    assert (not_held.value.code, not_held.value.details) == (
        ErrorCode.LOCK_NOT_HELD,
        {"name": "job"},
    )
    clock.advance(6)
    with pytest.raises(ConcordError) as expired:
        await service.release("job", "alice", grant.fencing_token)
    assert expired.value.code is ErrorCode.LOCK_EXPIRED
    assert expired.value.details == {"name": "job", "expired_at": wire_time(grant.expires_at)}


async def test_renew_then_release_by_the_holder(service: LockService, clock: ManualClock) -> None:
    grant = await service.acquire("job", "alice", timedelta(seconds=5))
    clock.advance(4)
    renewed = await service.renew("job", "alice", grant.fencing_token, timedelta(seconds=5))
    assert renewed.expires_at == clock.now() + timedelta(seconds=5)
    clock.advance(4)
    assert await service.get("job") == renewed
    assert await service.release("job", "alice", grant.fencing_token) == renewed


async def test_get_of_a_free_lock_is_not_found(service: LockService, clock: ManualClock) -> None:
    with pytest.raises(ConcordError) as never:
        await service.get("job")
    assert never.value.code is ErrorCode.NOT_FOUND
    await service.acquire("job", "alice", timedelta(seconds=1))
    clock.advance(1)
    with pytest.raises(ConcordError) as expired:
        await service.get("job")
    assert expired.value.code is ErrorCode.NOT_FOUND


async def test_listing_pages_with_opaque_tokens(service: LockService) -> None:
    for i in range(5):
        await service.acquire(f"job-{i}", "alice", LONG)
    await service.acquire("other", "alice", LONG)
    pages: list[list[str]] = []
    token = ""
    while True:
        page = await service.list("job-", 2, token)
        pages.append([lock.name for lock in page.locks])
        if not page.next_page_token:
            break
        assert "job" not in page.next_page_token
        token = page.next_page_token
    assert pages == [["job-0", "job-1"], ["job-2", "job-3"], ["job-4"]]


async def test_page_size_zero_means_fifty(service: LockService) -> None:
    for i in range(55):
        await service.acquire(f"job-{i:02d}", "alice", LONG)
    first = await service.list("", 0, "")
    assert len(first.locks) == 50
    rest = await service.list("", 0, first.next_page_token)
    assert [lock.name for lock in rest.locks] == [f"job-{i}" for i in range(50, 55)]
    assert rest.next_page_token == ""


async def test_a_foreign_page_token_is_invalid(service: LockService) -> None:
    with pytest.raises(ConcordError) as caught:
        await service.list("", 10, "!!not-base64!!")
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
    assert caught.value.details == {"field": "page_token", "reason": "invalid_page_token"}


def test_page_tokens_round_trip() -> None:
    for name in ["a", "ab", "abc", "job:1.x-y_z"]:
        assert decode_page_token("jobs", encode_page_token("jobs", name)) == name


async def test_watch_streams_events_by_prefix(service: LockService) -> None:
    stream = service.watch("job")
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    grant = await service.acquire("job-1", "alice", LONG)
    await service.acquire("other", "alice", LONG)
    await service.release("job-1", "alice", grant.fencing_token)
    acquired = await asyncio.wait_for(first, 1)
    released = await asyncio.wait_for(anext(stream), 1)
    await stream.aclose()
    assert [(e.type, e.lock.name) for e in (acquired, released)] == [
        (LockEventType.ACQUIRED, "job-1"),
        (LockEventType.RELEASED, "job-1"),
    ]


async def test_component_sweeps_expiries_in_the_background() -> None:
    store = MemoryLockStore(SystemClock())
    component = LockComponent(store, "memory", sweep_interval=0.01)
    subscription = await store.subscribe(lambda e: e.type is LockEventType.EXPIRED)
    await component.start()
    try:
        grant = await store.try_acquire("job", "alice", timedelta(milliseconds=20))
        event: LockEvent = await asyncio.wait_for(subscription.get(), 2)
    finally:
        await component.stop()
    assert event.lock == grant
    await component.check()
    await component.stop()


async def test_sweep_once_drains_every_batch(store: MemoryLockStore, clock: ManualClock) -> None:
    for i in range(150):
        await store.try_acquire(f"job-{i}", "alice", timedelta(seconds=1))
    clock.advance(2)
    component = LockComponent(store, "memory")
    assert await component.sweep_once(batch=100) == 150
    assert await component.sweep_once(batch=100) == 0


async def test_expired_grants_are_forgotten_after_the_retention(
    service: LockService, store: MemoryLockStore, clock: ManualClock
) -> None:
    grant = await service.acquire("job", "alice", timedelta(seconds=1))
    clock.advance(2)
    assert await store.sweep_expired() == 1
    clock.advance(25 * 3600)
    await store.sweep_expired()
    with pytest.raises(ConcordError) as caught:
        await service.release("job", "alice", grant.fencing_token)
    assert caught.value.code is ErrorCode.LOCK_NOT_HELD
    assert (await service.acquire("job", "bob", LONG)).fencing_token == 2
