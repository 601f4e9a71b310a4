"""The saga store contract, run against every SagaStore backend (and the runner on top)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.registry import open_backend
from concord_server.clock import SystemClock
from concord_server.config import Settings
from concord_server.domain import saga_machine as machine
from concord_server.domain.saga_runner import SagaRunner
from concord_server.domain.sagas import SagaService
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.sagas import (
    Attempt,
    HttpTarget,
    RetryPolicy,
    SagaDefinition,
    SagaRecord,
    SagaState,
    SagaStore,
    StepDefinition,
    StepEvent,
    StepEventType,
    StepPhase,
    StepRun,
    StepState,
    StepTarget,
)
from tests.conftest import backend_url
from tests.unit.test_sagas_domain import FakeCaller

T0 = datetime(2030, 1, 1, tzinfo=UTC)
OpenStore = Callable[..., Awaitable[SagaStore]]
DEFINITION = SagaDefinition(
    "order",
    (
        StepDefinition(
            "reserve",
            StepTarget(http=HttpTarget("http://svc/r", "PUT", (("a", "1"), ("b", "2")))),
            StepTarget(task_type="reserve.undo"),
            RetryPolicy(4, 0.25, 10.0, 1.5, 2.0),
        ),
        StepDefinition("pay", StepTarget(task_type="payments.charge")),
    ),
)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def kind(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return str(request.param)


@pytest.fixture
async def open_store(kind: str, tmp_path: Path, settings: Settings) -> AsyncIterator[OpenStore]:
    """Opens stores on one URL; `separate=True` uses its own connections, as another process."""
    url = backend_url(kind, tmp_path)
    pools: list[Connections] = []

    async def open_one(separate: bool = False) -> SagaStore:
        if separate or not pools:
            pools.append(Connections())
        store: SagaStore = await open_backend("sagas", url, settings, pools[-1])
        return store

    yield open_one
    if kind == "postgres":
        pool = await pools[0].postgres(url)
        await pool.execute(f'DROP SCHEMA IF EXISTS "{url_option(url, "schema")}" CASCADE')
    for conns in pools:
        await conns.close()


@pytest.fixture
async def store(open_store: OpenStore) -> SagaStore:
    """One store."""
    return await open_store()


def record(saga_id: str, **changes: Any) -> SagaRecord:
    """A new saga record at T0 with some fields changed."""
    return replace(machine.new_saga(saga_id, DEFINITION, {"cart": [1, "é", None]}, T0), **changes)


def busy_record(saga_id: str) -> SagaRecord:
    """A record using every field: history, output, a leased task and a claim."""
    history = (
        StepEvent(T0, StepPhase.ACTION, StepEventType.STARTED, 1),
        StepEvent(T0 + timedelta(microseconds=7), StepPhase.ACTION, StepEventType.FAILED, 1, "x"),
    )
    steps = (
        StepRun("reserve", StepState.SUCCEEDED, 2, 0, {"id": [1.5, True]}, "x", history),
        StepRun("pay", StepState.RUNNING, 1),
    )
    attempt = Attempt(1, StepPhase.ACTION, 1, "task", "t~1~a~1", "payments.charge", "w", T0)
    return record(
        saga_id,
        steps=steps,
        attempt=attempt,
        error="e",
        cancel_requested=True,
        locked_by="r1",
        locked_until=T0 + timedelta(seconds=3),
        state=SagaState.COMPENSATING,
    )


class TestSagaStore:
    """Every backend keeps the same records with the same compare-and-set semantics."""

    async def test_insert_get_round_trip_every_field(self, store: SagaStore) -> None:
        busy = busy_record("s1")
        inserted = await store.insert(busy)
        assert inserted is not None and inserted.version == 1 and inserted.seq > 0
        assert await store.get("s1") == inserted == replace(busy, version=1, seq=inserted.seq)
        assert await store.get("missing") is None

    async def test_insert_of_an_existing_id_changes_nothing(self, store: SagaStore) -> None:
        first = await store.insert(record("s1"))
        assert await store.insert(record("s1", input="other")) is None
        assert await store.get("s1") == first

    async def test_save_is_compare_and_set_on_version(self, store: SagaStore) -> None:
        v1 = await store.insert(record("s1"))
        assert v1 is not None
        v2 = await store.save(replace(v1, error="two"))
        assert v2 is not None and v2.version == 2 and v2.error == "two" and v2.seq == v1.seq
        assert await store.save(replace(v1, error="stale")) is None
        assert (await store.get("s1")) == v2
        assert await store.save(record("ghost", version=1)) is None

    async def test_concurrent_saves_of_one_version_let_exactly_one_win(
        self, store: SagaStore
    ) -> None:
        v1 = await store.insert(record("s1"))
        assert v1 is not None
        results = await asyncio.gather(*(store.save(replace(v1, error=f"w{n}")) for n in range(8)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1 and (await store.get("s1")) == winners[0]

    async def test_list_is_newest_first_with_state_filter_and_bound(self, store: SagaStore) -> None:
        for n in range(5):
            state = SagaState.COMPLETED if n % 2 else SagaState.RUNNING
            await store.insert(record(f"s{n}", state=state))
        everything = await store.list_sagas(state=None, limit=10, before_seq=None)
        assert [s.saga_id for s in everything] == ["s4", "s3", "s2", "s1", "s0"]
        page = await store.list_sagas(state=None, limit=2, before_seq=everything[1].seq)
        assert [s.saga_id for s in page] == ["s2", "s1"]
        done = await store.list_sagas(state=SagaState.COMPLETED, limit=10, before_seq=None)
        assert [s.saga_id for s in done] == ["s3", "s1"]

    async def test_due_finds_scheduled_sagas_whose_claim_is_free_or_expired(
        self, store: SagaStore
    ) -> None:
        now = T0 + timedelta(seconds=10)
        await store.insert(record("due-late", next_run_at=T0 + timedelta(seconds=5)))
        await store.insert(record("due-early", next_run_at=T0))
        await store.insert(record("future", next_run_at=now + timedelta(microseconds=1)))
        await store.insert(record("idle", next_run_at=None))
        await store.insert(record("claimed", locked_by="x", locked_until=now + timedelta(1)))
        await store.insert(record("claim-expired", locked_by="x", locked_until=now))
        due = await store.due(now, 10)
        assert {s.saga_id for s in due} == {"due-late", "due-early", "claim-expired"}
        assert due[0].saga_id in ("due-early", "claim-expired")
        assert len(await store.due(now, 2)) == 2

    async def test_ready_tasks_are_unleased_tasks_of_the_asked_types(
        self, store: SagaStore
    ) -> None:
        def offered(saga_id: str, task_type: str, worker: str, at: int) -> SagaRecord:
            a = Attempt(0, StepPhase.ACTION, 1, "task", f"{saga_id}~0~a~1", task_type, worker)
            return record(saga_id, attempt=a, updated_at=T0 + timedelta(seconds=at))

        await store.insert(offered("late", "pay", "", 5))
        await store.insert(offered("early", "pay", "", 1))
        await store.insert(offered("leased", "pay", "w1", 0))
        await store.insert(offered("ship", "ship", "", 0))
        await store.insert(record("plain"))
        ready = await store.ready_tasks(["pay", "mail"], 10)
        assert [s.saga_id for s in ready] == ["early", "late"]
        assert [s.saga_id for s in await store.ready_tasks(["pay", "ship"], 2)] == ["ship", "early"]
        assert await store.ready_tasks(["mail"], 10) == []

    async def test_check_answers(self, store: SagaStore) -> None:
        await store.check()

    async def test_a_repeated_start_compares_what_was_stored(self, store: SagaStore) -> None:
        service = SagaService(store, SystemClock())
        given = {"cart": [1.0, "é", None], "gift": False}
        first, created = await service.start("s1", DEFINITION, given)
        again, created_again = await service.start("s1", DEFINITION, dict(given))
        assert created and not created_again and again == first
        with pytest.raises(ConcordError) as err:
            await service.start("s1", DEFINITION, {**given, "gift": 0})
        assert err.value.code is ErrorCode.ALREADY_EXISTS


class TestTwoInstances:
    """Two stores on one engine URL act as two server processes."""

    @pytest.fixture(autouse=True)
    def _shared_only(self, kind: str) -> None:
        if kind == "memory":
            pytest.skip("memory stores are per process")

    async def test_writes_of_one_are_seen_by_the_other(self, open_store: OpenStore) -> None:
        one, two = await open_store(), await open_store(separate=True)
        inserted = await one.insert(record("s1"))
        assert inserted is not None and await two.get("s1") == inserted
        assert await two.insert(record("s1")) is None

    async def test_compare_and_set_holds_across_instances(self, open_store: OpenStore) -> None:
        one, two = await open_store(), await open_store(separate=True)
        v1 = await one.insert(record("s1"))
        assert v1 is not None
        results = await asyncio.gather(
            *(s.save(replace(v1, error=f"w{n}")) for n in range(6) for s in (one, two))
        )
        assert sum(r is not None for r in results) == 1


async def test_runners_of_two_instances_run_each_step_exactly_once(
    open_store: OpenStore, kind: str
) -> None:
    separate = kind != "memory"
    stores = [await open_store(), await open_store(separate=separate)]
    if kind == "memory":
        stores[1] = stores[0]
    clock = SystemClock()
    caller = FakeCaller()
    services = [SagaService(s, clock) for s in stores]
    runners = [
        SagaRunner(s, clock, caller, svc.signals, poll_interval=0.02, rng=random.Random(n))
        for n, (s, svc) in enumerate(zip(stores, services, strict=True))
    ]
    steps = tuple(
        StepDefinition(f"s{n}", StepTarget(http=HttpTarget(f"http://svc/{n}"))) for n in range(3)
    )
    for runner in runners:
        await runner.start()
    try:
        for n in range(12):
            await services[n % 2].start(f"saga-{n}", SagaDefinition("d", steps), n)
        await wait_until_finished(services[0], 12)
    finally:
        for runner in runners:
            await runner.stop()
    calls = Counter((body["saga_id"], body["step"]) for _, body in caller.calls)
    assert len(calls) == 36 and set(calls.values()) == {1}
    sagas, _ = await services[1].list_sagas(SagaState.COMPLETED, 100, "")
    assert len(sagas) == 12


async def wait_until_finished(service: SagaService, count: int) -> None:
    """Waits (up to 20 s) until `count` sagas completed."""
    for _ in range(2000):
        done, _ = await service.list_sagas(SagaState.COMPLETED, 1000, "")
        if len(done) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("sagas did not complete in time")
