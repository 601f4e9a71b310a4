"""LockService handlers with real contract messages, on the memory store and a manual clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from google.protobuf import duration_pb2

from concord_server._gen.concord.v1 import locks_pb2
from concord_server.api.handlers.locks import LockHandlers, wire
from concord_server.backends.connections import Connections
from concord_server.backends.memory.locks import MemoryLockStore
from concord_server.clock import ManualClock, SystemClock
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.domain.locks import LockService
from concord_server.errors import ConcordError, ErrorCode

CTX = CallContext(request_id="t")


def seconds(value: float) -> duration_pb2.Duration:
    """A Duration of this many seconds."""
    d = duration_pb2.Duration()
    d.FromTimedelta(timedelta(seconds=value))
    return d


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves."""
    return ManualClock()


@pytest.fixture
def handlers(clock: ManualClock) -> LockHandlers:
    """Handlers on a memory store sharing the manual clock."""
    return LockHandlers(LockService(MemoryLockStore(clock), clock))


async def acquire(
    handlers: LockHandlers,
    name: str,
    owner: str,
    wait_timeout: duration_pb2.Duration | None = None,
) -> locks_pb2.Lock:
    """Acquires with a 30 s TTL and returns the granted lock."""
    request = locks_pb2.AcquireLockRequest(
        name=name, owner=owner, ttl=seconds(30), wait_timeout=wait_timeout
    )
    return (await handlers.AcquireLock(request, CTX)).lock


async def test_acquire_returns_the_grant(handlers: LockHandlers, clock: ManualClock) -> None:
    lock = await acquire(handlers, "orders", "alice")
    assert (lock.name, lock.owner, lock.fencing_token) == ("orders", "alice", 1)
    assert lock.acquired_at.ToDatetime(tzinfo=clock.now().tzinfo) == clock.now()
    assert lock.ttl.ToTimedelta() == timedelta(seconds=30)
    assert lock.expires_at.ToSeconds() - lock.acquired_at.ToSeconds() == 30


async def test_acquire_conflict_is_lock_conflict(handlers: LockHandlers) -> None:
    await acquire(handlers, "orders", "alice")
    with pytest.raises(ConcordError) as caught:
        await acquire(handlers, "orders", "bob")
    assert caught.value.code is ErrorCode.LOCK_CONFLICT
    assert set(caught.value.details) == {"name", "expires_at"}


async def test_acquire_waits_for_the_holders_expiry(handlers: LockHandlers) -> None:
    first = await handlers.AcquireLock(
        locks_pb2.AcquireLockRequest(name="orders", owner="alice", ttl=seconds(2)), CTX
    )
    second = await acquire(handlers, "orders", "bob", wait_timeout=seconds(10))
    assert second.fencing_token == first.lock.fencing_token + 1


async def test_renew_release_and_get(handlers: LockHandlers, clock: ManualClock) -> None:
    lock = await acquire(handlers, "orders", "alice")
    clock.advance(10)
    renewed = await handlers.RenewLock(
        locks_pb2.RenewLockRequest(
            name="orders", owner="alice", fencing_token=lock.fencing_token, ttl=seconds(60)
        ),
        CTX,
    )
    assert renewed.lock.fencing_token == lock.fencing_token
    assert renewed.lock.ttl.ToTimedelta() == timedelta(seconds=60)
    got = await handlers.GetLock(locks_pb2.GetLockRequest(name="orders"), CTX)
    assert got.lock == renewed.lock
    released = await handlers.ReleaseLock(
        locks_pb2.ReleaseLockRequest(
            name="orders", owner="alice", fencing_token=lock.fencing_token
        ),
        CTX,
    )
    assert released.lock == renewed.lock
    with pytest.raises(ConcordError) as caught:
        await handlers.GetLock(locks_pb2.GetLockRequest(name="orders"), CTX)
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_release_by_another_owner_is_not_held(handlers: LockHandlers) -> None:
    lock = await acquire(handlers, "orders", "alice")
    request = locks_pb2.ReleaseLockRequest(
        name="orders", owner="bob", fencing_token=lock.fencing_token
    )
    with pytest.raises(ConcordError) as caught:
        await handlers.ReleaseLock(request, CTX)
    assert caught.value.code is ErrorCode.LOCK_NOT_HELD


async def test_renew_after_expiry_is_lock_expired(
    handlers: LockHandlers, clock: ManualClock
) -> None:
    lock = await acquire(handlers, "orders", "alice")
    clock.advance(31)
    request = locks_pb2.RenewLockRequest(
        name="orders", owner="alice", fencing_token=lock.fencing_token, ttl=seconds(30)
    )
    with pytest.raises(ConcordError) as caught:
        await handlers.RenewLock(request, CTX)
    assert caught.value.code is ErrorCode.LOCK_EXPIRED


async def test_list_pages_by_prefix(handlers: LockHandlers) -> None:
    for name in ["b", "a.2", "a.1", "a.3"]:
        await acquire(handlers, name, "alice")
    first = await handlers.ListLocks(locks_pb2.ListLocksRequest(prefix="a.", page_size=2), CTX)
    assert [lock.name for lock in first.locks] == ["a.1", "a.2"]
    assert first.next_page_token
    second = await handlers.ListLocks(
        locks_pb2.ListLocksRequest(prefix="a.", page_size=2, page_token=first.next_page_token),
        CTX,
    )
    assert [lock.name for lock in second.locks] == ["a.3"]
    assert second.next_page_token == ""


async def test_watch_streams_response_messages(handlers: LockHandlers) -> None:
    stream = await handlers.WatchLocks(locks_pb2.WatchLocksRequest(prefix="orders"), CTX)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    lock = await acquire(handlers, "orders", "alice")
    message = await asyncio.wait_for(first, 1)
    await stream.aclose()
    assert message.type == locks_pb2.LOCK_EVENT_TYPE_ACQUIRED
    assert message.lock == lock
    assert message.occurred_at == lock.acquired_at


@pytest.mark.parametrize("scheme", ["memory", "sqlite"])
async def test_wire_opens_the_configured_store(scheme: str, tmp_path: Path) -> None:
    url = "memory://" if scheme == "memory" else f"sqlite://{tmp_path / 'locks.db'}"
    settings = Settings(data_dir=tmp_path, locks_url=url)
    connections = Connections()
    try:
        wired = await wire(settings, connections, SystemClock())
        (handler,) = wired.handlers
        (component,) = wired.components
        assert isinstance(handler, LockHandlers)
        assert (handler.SERVICE, component.name, component.backend) == (
            "concord.v1.LockService",
            "locks",
            scheme,
        )
        await component.start()
        await component.check()
        lock = (
            await handler.AcquireLock(
                locks_pb2.AcquireLockRequest(name="job", owner="alice", ttl=seconds(5)), CTX
            )
        ).lock
        assert lock.fencing_token == 1
        await component.stop()
    finally:
        await connections.close()
