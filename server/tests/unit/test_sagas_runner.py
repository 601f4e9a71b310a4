"""The runner: background loop, claims, and outcomes that race with cancels and takeovers."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from typing import Any

from concord_server.backends.memory.sagas import MemorySagaStore
from concord_server.clock import ManualClock, SystemClock
from concord_server.domain.circuit_breaker import CircuitBreakers
from concord_server.domain.saga_runner import SagaRunner
from concord_server.domain.sagas import SagaService
from concord_server.errors import ConcordError, ErrorCode
from concord_server.outbound.http_steps import HttpStepCaller
from concord_server.ports.sagas import (
    CallOutcome,
    HttpTarget,
    RetryPolicy,
    SagaDefinition,
    SagaRecord,
    SagaState,
    StepDefinition,
    StepState,
    StepTarget,
)
from tests.unit.test_sagas_domain import FakeCaller, World, definition, events, step
from tests.unit.test_sagas_http import Reply, StepServer


class GatedCaller(FakeCaller):
    """A caller whose calls wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def call(
        self, target: HttpTarget, body: dict[str, Any], time_limit: float
    ) -> CallOutcome:
        """Waits for the gate on the first call only."""
        if not self.calls:
            self.entered.set()
            await self.gate.wait()
        return await super().call(target, body, time_limit)


class FlakyStore(MemorySagaStore):
    """A memory store whose `due` fails the first time, as an engine outage."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def due(self, now: datetime, limit: int) -> list[SagaRecord]:
        """Fails once, then answers."""
        if self.failures:
            self.failures -= 1
            raise ConcordError(ErrorCode.UNAVAILABLE, "engine down")
        return await super().due(now, limit)


async def wait_state(service: SagaService, state: SagaState, saga_id: str = "s1") -> SagaRecord:
    """Waits (up to 10 s) for a saga state."""
    for _ in range(1000):
        saga = await service.get(saga_id)
        if saga.state is state:
            return saga
        await asyncio.sleep(0.01)
    raise AssertionError(f"{saga_id} stayed {saga.state}")


async def test_the_background_loop_runs_http_steps_end_to_end() -> None:
    async with StepServer() as server:
        server.route("/b", Reply(503), Reply(200, {"b": 2}))
        clock = SystemClock()
        store = MemorySagaStore()
        service = SagaService(store, clock)
        caller = HttpStepCaller(CircuitBreakers(clock))
        runner = SagaRunner(store, clock, caller, service.signals, poll_interval=0.02)
        await runner.start()
        try:
            retry = RetryPolicy(initial_backoff=0.05)
            steps = tuple(
                StepDefinition(n, StepTarget(http=HttpTarget(server.url(f"/{n}"))), None, retry)
                for n in ("a", "b")
            )
            await service.start("s1", SagaDefinition("d", steps), {"x": 1})
            saga = await wait_state(service, SagaState.COMPLETED)
        finally:
            await runner.stop()
        assert server.paths() == ["/a", "/b", "/b"]
        assert saga.steps[1].output == {"b": 2} and saga.steps[1].attempts == 2
        assert server.requests[2].json()["outputs"] == {"a": {"path": "/a"}}


async def test_a_saga_claimed_by_another_instance_waits_for_the_claim_to_expire() -> None:
    world = World()
    other = SagaRunner(world.store, world.clock, FakeCaller(), world.service.signals, claim_ttl=10)
    await world.service.start("s1", definition(step("a")), None)
    claimed = await other._claim(10)  # another instance claims, then dies
    assert [s.saga_id for s in claimed] == ["s1"]
    assert await world.runner.run_once() == 0 and world.caller.calls == []
    world.clock.advance(10)
    await world.run()
    assert (await world.saga()).state is SagaState.COMPLETED


async def test_cancel_during_an_http_call_records_its_success_then_compensates() -> None:
    gated = GatedCaller()
    world = World(caller=gated)
    await world.service.start("s1", definition(step("a"), step("b")), None)
    running = asyncio.create_task(world.run())
    await gated.entered.wait()
    cancelled = await world.service.cancel("s1", "stop")
    assert cancelled.state is SagaState.COMPENSATING and cancelled.attempt is not None
    gated.gate.set()
    await running
    await world.run()
    saga = await world.saga()
    assert saga.state is SagaState.COMPENSATED
    assert world.caller.urls() == ["http://svc/a", "http://svc/a/undo"]
    assert saga.steps[0].state is StepState.COMPENSATED and saga.steps[1].state is StepState.PENDING


async def test_an_outcome_after_another_instance_took_over_is_dropped() -> None:
    clock = ManualClock()
    store = MemorySagaStore()
    service = SagaService(store, clock)
    slow = GatedCaller()
    first = SagaRunner(store, clock, slow, service.signals, claim_margin=1, rng=random.Random(1))
    fast = FakeCaller()
    second = SagaRunner(store, clock, fast, service.signals, claim_margin=1, rng=random.Random(2))
    await service.start("s1", definition(step("a", initial_backoff=1, timeout=5)), None)
    stuck = asyncio.create_task(first.run_once())
    await slow.entered.wait()
    clock.advance(6)  # the first runner's claim (timeout 5 + margin 1) has expired
    await second.run_until_idle()
    clock.advance(1)
    await second.run_until_idle()
    done = await service.get("s1")
    assert done.state is SagaState.COMPLETED and done.steps[0].attempts == 2
    slow.gate.set()
    await stuck
    after = await service.get("s1")
    assert after == done  # the late answer of attempt 1 changed nothing
    assert events(after, 0)[:3] == [
        ("ACTION", "STARTED", 1),
        ("ACTION", "TIMED_OUT", 1),
        ("ACTION", "RETRY_SCHEDULED", 2),
    ]


async def test_the_loop_survives_a_storage_outage() -> None:
    clock = SystemClock()
    store = FlakyStore()
    service = SagaService(store, clock)
    runner = SagaRunner(store, clock, FakeCaller(), service.signals, poll_interval=0.02)
    await runner.start()
    try:
        await service.start("s1", definition(step("a")), None)
        await wait_state(service, SagaState.COMPLETED)
    finally:
        await runner.stop()
    assert store.failures == 0


async def test_stop_closes_the_caller_and_is_idempotent() -> None:
    world = World()
    await world.runner.start()
    await world.runner.stop()
    await world.runner.stop()
    assert world.caller.closed
