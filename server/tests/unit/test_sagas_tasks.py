"""The worker task protocol: poll, heartbeat, complete, fail, lease expiry and long polls."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from concord_server.backends.memory.sagas import MemorySagaStore
from concord_server.clock import SystemClock, monotonic
from concord_server.domain.saga_runner import SagaRunner
from concord_server.domain.sagas import SagaService
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.sagas import (
    RetryPolicy,
    SagaDefinition,
    SagaState,
    StepDefinition,
    StepPhase,
    StepState,
    StepTarget,
)
from tests.unit.test_sagas_domain import FakeCaller, World, events


def task(task_type: str) -> StepTarget:
    """A worker task target."""
    return StepTarget(task_type=task_type)


def task_step(name: str, compensate: bool = True, **retry: Any) -> StepDefinition:
    """A task step of type `<name>` compensated by type `<name>.undo`."""
    undo = task(f"{name}.undo") if compensate else None
    return StepDefinition(name, task(name), undo, RetryPolicy(**retry))


def definition(*steps: StepDefinition) -> SagaDefinition:
    """A definition named `order`."""
    return SagaDefinition("order", tuple(steps))


@pytest.fixture
def world() -> World:
    return World()


async def started(world: World, *steps: StepDefinition, saga_id: str = "s1") -> None:
    """Starts a saga and lets the runner offer its first task."""
    await world.service.start(saga_id, definition(*steps), {"cart": 3})
    await world.run()


async def test_a_task_step_waits_for_a_worker_and_starts_when_leased(world: World) -> None:
    await started(world, task_step("pay"))
    saga = await world.saga()
    assert saga.ready_task_type == "pay" and saga.steps[0].attempts == 0
    assert saga.next_run_at is None and events(saga, 0) == []
    [lease] = await world.service.poll_tasks("w1", ["pay"], 0, 10, 0)
    assert (lease.saga_id, lease.step_name, lease.phase, lease.attempt) == (
        "s1",
        "pay",
        StepPhase.ACTION,
        1,
    )
    assert lease.input == {"cart": 3} and lease.outputs == {} and lease.worker_id == "w1"
    assert lease.lease_expires_at is not None
    assert (lease.lease_expires_at - world.clock.now()).total_seconds() == 10
    saga = await world.saga()
    assert saga.ready_task_type is None and events(saga, 0) == [("ACTION", "STARTED", 1)]
    assert await world.service.poll_tasks("w2", ["pay"], 0, 10, 0) == []


async def test_poll_only_returns_the_asked_types_and_at_most_max_tasks(world: World) -> None:
    for n in range(3):
        await started(world, task_step("pay"), saga_id=f"p{n}")
    await started(world, task_step("ship"), saga_id="x")
    assert await world.service.poll_tasks("w", ["mail"], 5, 0, 0) == []
    two = await world.service.poll_tasks("w", ["pay", "mail"], 2, 0, 0)
    assert sorted(t.saga_id for t in two) == ["p0", "p1"]
    rest = await world.service.poll_tasks("w", ["pay", "ship"], 10, 0, 0)
    assert sorted(t.saga_id for t in rest) == ["p2", "x"]


async def test_complete_records_the_output_and_moves_to_the_next_step(world: World) -> None:
    await started(world, task_step("pay"), task_step("ship"))
    [lease] = await world.service.poll_tasks("w1", ["pay"], 1, 0, 0)
    saga = await world.service.complete(lease.task_id, "w1", {"charge": "c-1"})
    assert saga.steps[0].state is StepState.SUCCEEDED and saga.steps[0].output == {"charge": "c-1"}
    await world.run()
    [ship] = await world.service.poll_tasks("w1", ["ship"], 1, 0, 0)
    assert ship.outputs == {"pay": {"charge": "c-1"}}
    await world.service.complete(ship.task_id, "w1", None)
    await world.run()
    done = await world.saga()
    assert done.state is SagaState.COMPLETED and done.steps[1].output is None


async def test_heartbeat_extends_the_lease(world: World) -> None:
    await started(world, task_step("pay"))
    [lease] = await world.service.poll_tasks("w1", ["pay"], 1, 5, 0)
    world.clock.advance(4)
    renewed = await world.service.heartbeat(lease.task_id, "w1", 5)
    assert renewed.lease_expires_at is not None
    assert (renewed.lease_expires_at - world.clock.now()).total_seconds() == 5
    world.clock.advance(4)
    await world.run()  # the old lease end passed: nothing happens
    saga = await world.service.complete(lease.task_id, "w1", 1)
    assert saga.steps[0].state is StepState.SUCCEEDED


async def test_a_wrong_worker_loses_the_lease(world: World) -> None:
    await started(world, task_step("pay"))
    [lease] = await world.service.poll_tasks("w1", ["pay"], 1, 5, 0)
    for call in (
        world.service.complete(lease.task_id, "w2", None),
        world.service.fail(lease.task_id, "w2", "boom", False),
        world.service.heartbeat(lease.task_id, "w2", 0),
    ):
        with pytest.raises(ConcordError) as err:
            await call
        assert err.value.code is ErrorCode.TASK_LEASE_LOST


async def test_an_expired_lease_is_a_timed_out_attempt_and_the_task_comes_back(
    world: World,
) -> None:
    await started(world, task_step("pay", initial_backoff=1.0))
    [first] = await world.service.poll_tasks("w1", ["pay"], 1, 5, 0)
    world.clock.advance(5)
    with pytest.raises(ConcordError) as err:
        await world.service.complete(first.task_id, "w1", None)
    assert err.value.code is ErrorCode.TASK_LEASE_LOST
    await world.run()
    saga = await world.saga()
    assert events(saga, 0)[-2:] == [("ACTION", "TIMED_OUT", 1), ("ACTION", "RETRY_SCHEDULED", 2)]
    world.clock.advance(1)
    await world.run()
    [second] = await world.service.poll_tasks("w2", ["pay"], 1, 5, 0)
    assert second.attempt == 2 and second.task_id != first.task_id
    with pytest.raises(ConcordError) as err:
        await world.service.complete(first.task_id, "w1", None)
    assert err.value.code is ErrorCode.TASK_LEASE_LOST
    saga = await world.service.complete(second.task_id, "w2", "ok")
    assert saga.steps[0].state is StepState.SUCCEEDED and saga.steps[0].attempts == 2


async def test_a_retryable_failure_offers_the_task_again_after_the_backoff(world: World) -> None:
    await started(world, task_step("pay", initial_backoff=2.0))
    [lease] = await world.service.poll_tasks("w1", ["pay"], 1, 0, 0)
    saga = await world.service.fail(lease.task_id, "w1", "card declined?", non_retryable=False)
    assert saga.steps[0].error == "card declined?" and saga.ready_task_type is None
    await world.run()
    assert await world.service.poll_tasks("w1", ["pay"], 1, 0, 0) == []
    world.clock.advance(2)
    await world.run()
    [again] = await world.service.poll_tasks("w1", ["pay"], 1, 0, 0)
    assert again.attempt == 2


async def test_a_non_retryable_failure_compensates_with_compensation_tasks(world: World) -> None:
    await started(world, task_step("pay"), task_step("ship", max_attempts=5))
    [pay] = await world.service.poll_tasks("w1", ["pay"], 1, 0, 0)
    await world.service.complete(pay.task_id, "w1", {"charge": 1})
    await world.run()
    [ship] = await world.service.poll_tasks("w1", ["ship"], 1, 0, 0)
    saga = await world.service.fail(ship.task_id, "w1", "no stock", non_retryable=True)
    assert saga.state is SagaState.COMPENSATING and saga.steps[1].state is StepState.FAILED
    await world.run()
    [undo] = await world.service.poll_tasks("w1", ["pay.undo", "ship.undo"], 5, 0, 0)
    assert (undo.step_name, undo.phase, undo.outputs) == (
        "pay",
        StepPhase.COMPENSATION,
        {"pay": {"charge": 1}},
    )
    await world.service.complete(undo.task_id, "w1", None)
    await world.run()
    assert (await world.saga()).state is SagaState.COMPENSATED


async def test_cancel_withdraws_a_task_no_worker_took(world: World) -> None:
    await started(world, task_step("pay"))
    await world.service.cancel("s1", "stop")
    assert await world.service.poll_tasks("w1", ["pay"], 1, 0, 0) == []
    await world.run()
    saga = await world.saga()
    assert saga.state is SagaState.COMPENSATED and saga.steps[0].state is StepState.PENDING


async def test_a_task_completed_after_cancel_is_compensated(world: World) -> None:
    await started(world, task_step("pay"), task_step("ship"))
    [lease] = await world.service.poll_tasks("w1", ["pay"], 1, 0, 0)
    await world.service.cancel("s1", "stop")
    saga = await world.service.complete(lease.task_id, "w1", {"charge": 9})
    assert saga.state is SagaState.COMPENSATING
    await world.run()
    [undo] = await world.service.poll_tasks("w1", ["pay.undo", "ship"], 5, 0, 0)
    assert undo.step_name == "pay" and undo.phase is StepPhase.COMPENSATION


async def test_a_task_failing_after_cancel_is_not_retried(world: World) -> None:
    await started(world, task_step("pay", max_attempts=5))
    [lease] = await world.service.poll_tasks("w1", ["pay"], 1, 0, 0)
    await world.service.cancel("s1", "stop")
    saga = await world.service.fail(lease.task_id, "w1", "boom", non_retryable=False)
    assert saga.steps[0].state is StepState.FAILED
    await world.run()
    assert (await world.saga()).state is SagaState.COMPENSATED


@pytest.mark.parametrize("seconds", [0.5, 3601.0])
async def test_visibility_outside_1s_to_1h_is_invalid(world: World, seconds: float) -> None:
    with pytest.raises(ConcordError) as err:
        await world.service.poll_tasks("w1", ["pay"], 1, seconds, 0)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT


async def test_unknown_tasks_are_not_found(world: World) -> None:
    with pytest.raises(ConcordError) as err:
        await world.service.complete("nope~0~a~1", "w1", None)
    assert err.value.code is ErrorCode.NOT_FOUND


async def test_two_workers_polling_at_once_never_get_the_same_task(world: World) -> None:
    for n in range(6):
        await started(world, task_step("pay"), saga_id=f"p{n}")
    batches = await asyncio.gather(
        *(world.service.poll_tasks(f"w{i}", ["pay"], 2, 0, 0) for i in range(5))
    )
    ids = [t.task_id for batch in batches for t in batch]
    assert len(ids) == 6 and len(set(ids)) == 6


async def test_a_long_poll_wakes_when_the_runner_offers_a_task() -> None:
    store = MemorySagaStore()
    clock = SystemClock()
    service = SagaService(store, clock, task_poll_interval=30.0)
    runner = SagaRunner(store, clock, FakeCaller(), service.signals, poll_interval=30.0)
    await runner.start()
    try:
        began = monotonic()
        poll = asyncio.create_task(service.poll_tasks("w1", ["pay"], 1, 0, 20))
        await asyncio.sleep(0.05)
        assert not poll.done()
        await service.start("s1", definition(task_step("pay")), None)
        [lease] = await asyncio.wait_for(poll, 5)
        assert lease.saga_id == "s1" and monotonic() - began < 20
    finally:
        await runner.stop()


async def test_a_long_poll_finds_tasks_of_other_instances_by_polling_the_store() -> None:
    store = MemorySagaStore()
    clock = SystemClock()
    poller = SagaService(store, clock, task_poll_interval=0.05)
    writer = SagaService(store, clock, rng=random.Random(0))
    runner = SagaRunner(store, clock, FakeCaller(), writer.signals)
    poll = asyncio.create_task(poller.poll_tasks("w1", ["pay"], 1, 0, 5))
    await asyncio.sleep(0.05)
    await writer.start("s1", definition(task_step("pay")), None)
    await runner.run_until_idle()
    [lease] = await asyncio.wait_for(poll, 5)
    assert lease.saga_id == "s1"


async def test_a_long_poll_without_tasks_returns_empty_after_the_wait(world: World) -> None:
    began = monotonic()
    assert await world.service.poll_tasks("w1", ["pay"], 1, 0, 0.1) == []
    assert monotonic() - began >= 0.1


async def test_a_retried_complete_or_fail_answers_like_the_first(world: World) -> None:
    await started(world, task_step("pay"), task_step("ship", max_attempts=1))
    [pay] = await world.service.poll_tasks("w1", ["pay"], 1, 0, 0)
    first = await world.service.complete(pay.task_id, "w1", {"charge": 1})
    again = await world.service.complete(pay.task_id, "w1", {"charge": 1})
    assert again.version == first.version and again.steps[0].attempts == 1
    for call in (
        world.service.complete(pay.task_id, "w2", None),
        world.service.fail(pay.task_id, "w1", "late", False),
    ):
        with pytest.raises(ConcordError) as err:
            await call
        assert err.value.code is ErrorCode.TASK_LEASE_LOST
    await world.run()
    [ship] = await world.service.poll_tasks("w1", ["ship"], 1, 0, 0)
    failed = await world.service.fail(ship.task_id, "w1", "no", non_retryable=True)
    assert (await world.service.fail(ship.task_id, "w1", "no", True)).version == failed.version


async def test_heartbeat_accepts_sub_second_leases(world: World) -> None:
    await started(world, task_step("pay"))
    [lease] = await world.service.poll_tasks("w1", ["pay"], 1, 0, 0)
    renewed = await world.service.heartbeat(lease.task_id, "w1", 0.5)
    assert renewed.lease_expires_at is not None
    assert (renewed.lease_expires_at - world.clock.now()).total_seconds() == 0.5
