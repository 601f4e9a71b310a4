"""Domain metrics count what happened: lock grants, conflicts and waits; saga transitions; the
storage seam's latency, errors and pass-through."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from concord_server.backends.memory.locks import MemoryLockStore
from concord_server.clock import ManualClock, SystemClock
from concord_server.domain import saga_machine as machine
from concord_server.domain.locks import LockService
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.sagas import (
    HttpTarget,
    SagaDefinition,
    SagaState,
    StepDefinition,
    StepEvent,
    StepEventType,
    StepPhase,
    StepTarget,
)
from concord_server.telemetry.metrics import count_saga_change
from concord_server.telemetry.storage import instrument


def value(name: str, **labels: str) -> float:
    """The current value of one sample (0 when absent)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def storage(name: str, operation: str = "", code: str = "") -> float:
    """A sample of the fake store's storage metrics."""
    labels = {"engine": "fake", "capability": "things"}
    labels.update({"operation": operation} if operation else {"code": code})
    return value(name, **labels)


async def test_lock_grants_and_conflicts_are_counted() -> None:
    service = LockService(MemoryLockStore(ManualClock()), ManualClock())
    granted = value("concord_lock_grants_total", waited="false")
    conflicts = value("concord_lock_conflicts_total")
    await service.acquire("m", "a", timedelta(seconds=30))
    with pytest.raises(ConcordError):
        await service.acquire("m", "b", timedelta(seconds=30))
    assert value("concord_lock_grants_total", waited="false") == granted + 1
    assert value("concord_lock_conflicts_total") == conflicts + 1


async def test_a_waiting_acquire_counts_a_wait_and_a_waited_grant() -> None:
    store = MemoryLockStore(SystemClock())
    service = LockService(store, SystemClock(), poll_initial=0.01, poll_max=0.02)
    held = await service.acquire("w", "a", timedelta(seconds=30))
    waits, granted = (
        value("concord_lock_waits_total"),
        value("concord_lock_grants_total", waited="true"),
    )
    waiter = asyncio.create_task(
        service.acquire("w", "b", timedelta(seconds=30), timedelta(seconds=60))
    )
    for _tick in range(6000):  # up to a minute on a busy machine
        if value("concord_lock_waiters") >= 1:
            break
        await asyncio.sleep(0.01)
    assert value("concord_lock_waiters") == 1
    await service.release("w", "a", held.fencing_token)
    await waiter
    assert value("concord_lock_waits_total") == waits + 1
    assert value("concord_lock_grants_total", waited="true") == granted + 1
    assert value("concord_lock_waiters") == 0


def _saga() -> Any:
    step = StepDefinition("pay", StepTarget(http=HttpTarget("http://127.0.0.1:1/pay")))
    return machine.new_saga("s", SagaDefinition("d", (step,)), {}, datetime(2026, 1, 1, tzinfo=UTC))


def test_saga_transitions_are_counted_once_each() -> None:
    started, comp = value("concord_saga_starts_total"), value("concord_saga_compensations_total")
    ended = value("concord_saga_finished_total", state="COMPENSATED")
    retries = value("concord_saga_step_retries_total", phase="ACTION")
    saga = _saga()
    count_saga_change(None, saga)
    retry = StepEvent(saga.created_at, StepPhase.ACTION, StepEventType.RETRY_SCHEDULED, 1)
    retried = replace(saga, steps=(replace(saga.steps[0], history=(retry,)),))
    count_saga_change(saga, retried)
    compensating = replace(retried, state=SagaState.COMPENSATING)
    count_saga_change(retried, compensating)
    count_saga_change(compensating, compensating)
    count_saga_change(compensating, replace(compensating, state=SagaState.COMPENSATED))
    assert value("concord_saga_starts_total") == started + 1
    assert value("concord_saga_step_retries_total", phase="ACTION") == retries + 1
    assert value("concord_saga_compensations_total") == comp + 1
    assert value("concord_saga_finished_total", state="COMPENSATED") == ended + 1


class _Store:
    backend = "fake"

    def __init__(self) -> None:
        self.down = False

    async def get(self, name: str) -> str:
        if self.down:
            raise ConcordError(ErrorCode.UNAVAILABLE, "fake storage is unavailable")
        return name.upper()

    async def missing(self) -> None:
        raise ConcordError(ErrorCode.NOT_FOUND, "no such thing")

    def sync_helper(self) -> int:
        return 7


async def test_the_storage_seam_times_calls_and_counts_engine_failures_only() -> None:
    inner = _Store()
    store = instrument(inner, "things", "fake")
    calls = value(
        "concord_storage_call_seconds_count", engine="fake", capability="things", operation="get"
    )
    assert await store.get("x") == "X"
    assert (
        value(
            "concord_storage_call_seconds_count",
            engine="fake",
            capability="things",
            operation="get",
        )
        == calls + 1
    )
    errors = value(
        "concord_storage_errors_total", engine="fake", capability="things", code="UNAVAILABLE"
    )
    inner.down = True
    with pytest.raises(ConcordError):
        await store.get("x")
    with pytest.raises(ConcordError):
        await store.missing()
    assert (
        value(
            "concord_storage_errors_total", engine="fake", capability="things", code="UNAVAILABLE"
        )
        == errors + 1
    )
    assert (
        value("concord_storage_errors_total", engine="fake", capability="things", code="NOT_FOUND")
        == 0
    )
    assert store.backend == "fake" and store.sync_helper() == 7
    assert isinstance(store, _Store)  # code that checks a store's class sees through the seam
    store.down = False  # attributes are the inner store's
    assert inner.down is False and await store.get("y") == "Y"
