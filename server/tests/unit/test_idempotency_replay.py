"""Idempotent replay through the dispatcher, over fake handlers and an in-memory store."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from concord_server._gen.concord.v1 import locks_pb2
from concord_server.api.dispatch import Dispatcher
from concord_server.api.idempotency import REPLAYED_HEADER, lease_for
from concord_server.api.rpcs import Rpc, all_rpcs
from concord_server.backends.memory.idempotency import MemoryIdempotencyStore
from concord_server.context import CallContext
from concord_server.errors import ConcordError, ErrorCode
from concord_server.middleware.metrics import RPC_CALLS
from concord_server.ports.idempotency import IdempotencyRecord
from tests.fakes import FakeGuard, FakeLocks, duration

ACQUIRE = next(r for r in all_rpcs() if r.name == "AcquireLock")
GET = next(r for r in all_rpcs() if r.name == "GetLock")


class CountingLocks(FakeLocks):
    """FakeLocks whose grants count up, and whose owner `slow` waits for `go`."""

    def __init__(self) -> None:
        super().__init__()
        self.grants = 0
        self.go = asyncio.Event()
        self.started = asyncio.Event()

    async def AcquireLock(
        self, request: locks_pb2.AcquireLockRequest, ctx: CallContext
    ) -> locks_pb2.AcquireLockResponse:
        if request.owner == "slow":
            self.started.set()
            await self.go.wait()
        response = await super().AcquireLock(request, ctx)
        self.grants += 1
        response.lock.fencing_token = self.grants
        return response


def dispatcher(locks: FakeLocks, store: Any = None, guard: FakeGuard | None = None) -> Dispatcher:
    return Dispatcher(
        [locks],
        guard or FakeGuard(),
        idempotency=store if store is not None else MemoryIdempotencyStore(),
    )


def ctx(key: str = "", who: str = "alice") -> CallContext:
    return CallContext(
        request_id="r", idempotency_key=key, headers={"authorization": f"Bearer {who}"}
    )


def acquire(owner: str = "me", name: str = "a") -> locks_pb2.AcquireLockRequest:
    return locks_pb2.AcquireLockRequest(name=name, owner=owner, ttl=duration("30s"))


async def fail(d: Dispatcher, rpc: Rpc, request: Any, c: CallContext) -> ConcordError:
    with pytest.raises(ConcordError) as caught:
        await d.call(rpc, request, c)
    return caught.value


async def test_a_repeated_key_replays_the_first_response() -> None:
    locks = CountingLocks()
    d = dispatcher(locks)
    first, again = ctx("k1"), ctx("k1")
    one = await d.call(ACQUIRE, acquire(), first)
    two = await d.call(ACQUIRE, acquire(), again)
    assert one == two and locks.grants == 1
    assert not first.replayed and again.replayed


async def test_a_different_request_with_the_same_key_is_refused() -> None:
    locks = CountingLocks()
    d = dispatcher(locks)
    await d.call(ACQUIRE, acquire(), ctx("k1"))
    err = await fail(d, ACQUIRE, acquire(owner="other"), ctx("k1"))
    assert err.code is ErrorCode.INVALID_ARGUMENT
    assert err.details == {"reason": "idempotency_key_reused"}
    assert locks.grants == 1


async def test_without_a_key_every_call_runs() -> None:
    locks = CountingLocks()
    d = dispatcher(locks)
    await d.call(ACQUIRE, acquire(), ctx())
    await d.call(ACQUIRE, acquire(), ctx())
    assert locks.grants == 2


async def test_idempotent_rpcs_are_not_replayed() -> None:
    locks = CountingLocks()
    d = dispatcher(locks)
    c = ctx("k1")
    await d.call(GET, locks_pb2.GetLockRequest(name="a"), ctx("k1"))
    await d.call(GET, locks_pb2.GetLockRequest(name="a"), c)
    assert len([r for r in locks.requests if r[0] == "GetLock"]) == 2 and not c.replayed


async def test_keys_belong_to_their_principal() -> None:
    locks = CountingLocks()
    d = dispatcher(locks)
    await d.call(ACQUIRE, acquire(), ctx("k1", "alice"))
    bob = ctx("k1", "bob")
    await d.call(ACQUIRE, acquire(), bob)
    assert locks.grants == 2 and not bob.replayed


async def test_keys_belong_to_their_rpc() -> None:
    locks = CountingLocks()
    d = dispatcher(locks)
    await d.call(ACQUIRE, acquire(), ctx("k1"))
    other = ctx("k1")
    await d.call(GET, locks_pb2.GetLockRequest(name="a"), other)
    assert not other.replayed


async def test_a_final_error_is_replayed_with_the_header() -> None:
    locks = CountingLocks()
    d = dispatcher(locks)
    first = await fail(d, ACQUIRE, acquire(owner="conflict"), ctx("k1"))
    again = await fail(d, ACQUIRE, acquire(owner="conflict"), ctx("k1"))
    assert first.code is again.code is ErrorCode.LOCK_CONFLICT
    assert (again.message, again.details) == (first.message, first.details)
    assert REPLAYED_HEADER not in first.headers
    assert again.headers[REPLAYED_HEADER] == "true"
    assert len([r for r in locks.requests if r[0] == "AcquireLock"]) == 1


async def test_retryable_errors_are_not_kept() -> None:
    locks = CountingLocks()
    d = dispatcher(locks)
    assert (await fail(d, ACQUIRE, acquire(owner="boom"), ctx("k1"))).code is ErrorCode.INTERNAL
    assert (await fail(d, ACQUIRE, acquire(owner="boom"), ctx("k1"))).code is ErrorCode.INTERNAL
    assert len([r for r in locks.requests if r[0] == "AcquireLock"]) == 2


async def test_admission_failures_are_not_kept() -> None:
    locks = CountingLocks()
    d = dispatcher(locks, guard=FakeGuard(deny=(ACQUIRE.action,)))
    err = await fail(d, ACQUIRE, acquire(), ctx("k1"))
    assert err.code is ErrorCode.PERMISSION_DENIED
    bad = CallContext(request_id="r", idempotency_key="k1", headers={"authorization": "Bearer bad"})
    assert (await fail(d, ACQUIRE, acquire(), bad)).code is ErrorCode.UNAUTHENTICATED
    allowed = dispatcher(locks, store=MemoryIdempotencyStore())
    await allowed.call(ACQUIRE, acquire(), ctx("k1"))
    assert locks.grants == 1


@pytest.mark.parametrize("key", ["a b", "x" * 201, "caf\u00e9", "tab\there", "\x7f"])
async def test_malformed_keys_are_refused(key: str) -> None:
    locks = CountingLocks()
    err = await fail(dispatcher(locks), ACQUIRE, acquire(), ctx(key))
    assert err.code is ErrorCode.INVALID_ARGUMENT
    assert err.details["field"] == "Idempotency-Key"
    assert locks.grants == 0


async def test_the_longest_key_is_accepted() -> None:
    locks = CountingLocks()
    await dispatcher(locks).call(ACQUIRE, acquire(), ctx("~" * 200))
    assert locks.grants == 1


async def test_a_repeat_in_the_same_process_waits_for_the_first() -> None:
    locks = CountingLocks()
    d = dispatcher(locks)
    first = asyncio.create_task(d.call(ACQUIRE, acquire(owner="slow"), ctx("k1")))
    await locks.started.wait()
    second_ctx = ctx("k1")
    second = asyncio.create_task(d.call(ACQUIRE, acquire(owner="slow"), second_ctx))
    await asyncio.sleep(0.05)
    assert not second.done()
    locks.go.set()
    assert await first == await second
    assert locks.grants == 1 and second_ctx.replayed


async def test_a_repeat_on_another_instance_is_told_to_retry() -> None:
    locks = CountingLocks()
    store = MemoryIdempotencyStore()
    first = asyncio.create_task(dispatcher(locks, store).call(ACQUIRE, acquire("slow"), ctx("k")))
    await locks.started.wait()
    err = await fail(dispatcher(CountingLocks(), store), ACQUIRE, acquire("slow"), ctx("k"))
    assert err.code is ErrorCode.UNAVAILABLE
    assert err.details == {"reason": "idempotency_key_in_progress"}
    assert err.headers == {"Retry-After": "1"}
    locks.go.set()
    await first


async def test_a_cancelled_first_call_frees_the_key() -> None:
    locks = CountingLocks()
    d = dispatcher(locks)
    first = asyncio.create_task(d.call(ACQUIRE, acquire(owner="slow"), ctx("k1")))
    await locks.started.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    locks.go.set()
    again = ctx("k1")
    await d.call(ACQUIRE, acquire(owner="slow"), again)
    assert locks.grants == 1 and not again.replayed


class BrokenStore(MemoryIdempotencyStore):
    """Claims work; storing answers fails."""

    async def complete(self, key: str, fingerprint: str, answer: bytes, ttl: timedelta) -> None:
        raise ConcordError(ErrorCode.UNAVAILABLE, "store went away")


async def test_an_answer_stands_when_it_cannot_be_stored() -> None:
    locks = CountingLocks()
    response = await dispatcher(locks, BrokenStore()).call(ACQUIRE, acquire(), ctx("k1"))
    assert isinstance(response, locks_pb2.AcquireLockResponse)
    assert response.lock.fencing_token == 1


async def test_an_unavailable_store_fails_the_call_retryably() -> None:
    class Down(MemoryIdempotencyStore):
        async def begin(self, *args: Any) -> IdempotencyRecord | None:
            raise ConcordError(ErrorCode.UNAVAILABLE, "down")

    locks = CountingLocks()
    err = await fail(dispatcher(locks, Down()), ACQUIRE, acquire(), ctx("k1"))
    assert err.code is ErrorCode.UNAVAILABLE and locks.grants == 0


def test_the_lease_covers_the_wait_timeout() -> None:
    request = acquire()
    assert lease_for(request) == timedelta(seconds=30)
    request.wait_timeout.FromTimedelta(timedelta(minutes=5))
    assert lease_for(request) == timedelta(minutes=5, seconds=30)


def _count(transport: str, rpc: str, code: str) -> float:
    return RPC_CALLS.labels(transport, rpc, code).value


async def test_outcomes_are_counted_per_transport_rpc_and_code() -> None:
    d = dispatcher(CountingLocks())
    ok = _count("grpc", "AcquireLock", "OK")
    conflict = _count("grpc", "AcquireLock", "LOCK_CONFLICT")
    c = ctx()
    c.transport = "grpc"
    await d.call(ACQUIRE, acquire(), c)
    with pytest.raises(ConcordError):
        await d.call(ACQUIRE, acquire(owner="conflict"), c)
    assert _count("grpc", "AcquireLock", "OK") == ok + 1
    assert _count("grpc", "AcquireLock", "LOCK_CONFLICT") == conflict + 1
