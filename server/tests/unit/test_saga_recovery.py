"""Crash recovery: a server process is killed (SIGKILL) in the middle of an HTTP step; a new
store and runner on the same SQLite file or PostgreSQL schema finish every unfinished saga."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.registry import open_backend
from concord_server.clock import SystemClock
from concord_server.config import Settings
from concord_server.domain.circuit_breaker import CircuitBreakers
from concord_server.domain.saga_runner import SagaRunner
from concord_server.domain.sagas import SagaService
from concord_server.outbound.http_steps import HttpStepCaller
from concord_server.ports.sagas import (
    TERMINAL_STATES,
    HttpTarget,
    RetryPolicy,
    SagaDefinition,
    SagaRecord,
    SagaState,
    SagaStore,
    StepDefinition,
    StepState,
    StepTarget,
    definition_to_document,
)
from tests.conftest import backend_url
from tests.unit.test_sagas_http import Reply, StepServer

SRC = Path(__file__).resolve().parents[2] / "src"
STEP_TIMEOUT = 1.0
CLAIM_MARGIN = 0.2

# The first server process: starts the saga and runs it until it is killed.
CHILD = """
import asyncio, json, sys
from concord_server.backends.connections import Connections
from concord_server.backends.registry import open_backend
from concord_server.clock import SystemClock
from concord_server.config import Settings
from concord_server.domain.circuit_breaker import CircuitBreakers
from concord_server.outbound.http_steps import HttpStepCaller
from concord_server.domain.saga_runner import SagaRunner
from concord_server.domain.sagas import SagaService
from concord_server.ports.sagas import definition_from_document

async def main(url, data_dir, definition):
    clock = SystemClock()
    store = await open_backend("sagas", url, Settings(data_dir=data_dir), Connections())
    service = SagaService(store, clock)
    caller = HttpStepCaller(CircuitBreakers(clock))
    runner = SagaRunner(store, clock, caller, service.signals, claim_margin=0.2,
                        poll_interval=0.05)
    await runner.start()
    await service.start("crash-1", definition_from_document(json.loads(definition)), {"n": 1})
    await asyncio.Event().wait()

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A storage URL shared by the killed process and its successor."""
    storage = backend_url(str(request.param), tmp_path)
    yield storage
    if request.param == "postgres":
        conns = Connections()
        pool = await conns.postgres(storage)
        await pool.execute(f'DROP SCHEMA IF EXISTS "{url_option(storage, "schema")}" CASCADE')
        await conns.close()


def http_step(server: StepServer, name: str) -> StepDefinition:
    """A step calling /<name>, compensated by /<name>/undo, with short timeouts and backoff."""
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.05, timeout=STEP_TIMEOUT)
    action = StepTarget(http=HttpTarget(server.url(f"/{name}")))
    undo = StepTarget(http=HttpTarget(server.url(f"/{name}/undo")))
    return StepDefinition(name, action, undo, retry)


async def run_and_kill(
    url: str, tmp_path: Path, definition: SagaDefinition, server: StepServer
) -> None:
    """Runs the first server process until it hangs in a step call, then SIGKILLs it."""
    document = json.dumps(definition_to_document(definition))
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    log = (tmp_path / "child.log").open("wb")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, url, str(tmp_path / "data"), document, env=env, stderr=log
    )
    try:
        await asyncio.wait_for(server.hanging.wait(), 30)
    except TimeoutError:
        log.close()
        pytest.fail(
            "the first process never called the step:\n" + (tmp_path / "child.log").read_text()
        )
    finally:
        child.kill()
        await child.wait()
        log.close()


async def successor(url: str, tmp_path: Path) -> tuple[SagaStore, SagaRunner, Connections]:
    """A new store and runner on the same storage, as a restarted server."""
    conns = Connections()
    clock = SystemClock()
    store: SagaStore = await open_backend("sagas", url, Settings(data_dir=tmp_path / "data"), conns)
    service = SagaService(store, clock)
    caller = HttpStepCaller(CircuitBreakers(clock))
    runner = SagaRunner(
        store, clock, caller, service.signals, claim_margin=CLAIM_MARGIN, poll_interval=0.05
    )
    return store, runner, conns


async def stored(url: str, tmp_path: Path) -> SagaRecord:
    """The saga as the killed process left it."""
    conns = Connections()
    settings = Settings(data_dir=tmp_path / "data")
    try:
        store: SagaStore = await open_backend("sagas", url, settings, conns)
        saga = await store.get("crash-1")
    finally:
        await conns.close()
    assert saga is not None
    return saga


async def finished(store: SagaStore, saga_id: str) -> SagaRecord:
    """Waits (up to 20 s) for the saga to reach a final state."""
    for _ in range(400):
        saga = await store.get(saga_id)
        if saga is not None and saga.state in TERMINAL_STATES:
            return saga
        await asyncio.sleep(0.05)
    raise AssertionError(f"saga not finished: {saga}")


async def resume(url: str, tmp_path: Path) -> SagaRecord:
    """Resumes with a fresh store and runner and returns the finished saga."""
    store, runner, conns = await successor(url, tmp_path)
    await runner.start()
    try:
        return await finished(store, "crash-1")
    finally:
        await runner.stop()
        await conns.close()


def kinds(saga: SagaRecord, index: int) -> list[tuple[str, str, int]]:
    """A step's history as (phase, type, attempt)."""
    return [(e.phase.value, e.type.value, e.attempt) for e in saga.steps[index].history]


async def test_a_saga_killed_mid_action_completes_after_restart(url: str, tmp_path: Path) -> None:
    async with StepServer() as server:
        server.route("/b", Reply(hang=True), Reply(200, {"paid": True}))
        definition = SagaDefinition("d", tuple(http_step(server, n) for n in ("a", "b", "c")))
        await run_and_kill(url, tmp_path, definition, server)
        left = await stored(url, tmp_path)
        assert left.state is SagaState.RUNNING and left.locked_by.startswith("runner-")
        assert left.steps[1].state is StepState.RUNNING and left.attempt is not None
        saga = await resume(url, tmp_path)
        assert saga.state is SagaState.COMPLETED, saga.error
        assert server.paths() == ["/a", "/b", "/b", "/c"]  # a is not run again
        assert kinds(saga, 1) == [
            ("ACTION", "STARTED", 1),
            ("ACTION", "TIMED_OUT", 1),
            ("ACTION", "RETRY_SCHEDULED", 2),
            ("ACTION", "STARTED", 2),
            ("ACTION", "SUCCEEDED", 2),
        ]
        assert saga.steps[1].output == {"paid": True}
        assert server.requests[-1].json()["outputs"]["b"] == {"paid": True}


async def test_a_saga_killed_mid_compensation_is_compensated_after_restart(
    url: str, tmp_path: Path
) -> None:
    async with StepServer() as server:
        server.route("/c", Reply(400, {"error": "out of stock"}))
        server.route("/b/undo", Reply(hang=True), Reply(200))
        definition = SagaDefinition("d", tuple(http_step(server, n) for n in ("a", "b", "c")))
        await run_and_kill(url, tmp_path, definition, server)
        left = await stored(url, tmp_path)
        assert left.state is SagaState.COMPENSATING
        assert left.steps[1].state is StepState.COMPENSATING and left.attempt is not None
        saga = await resume(url, tmp_path)
        assert saga.state is SagaState.COMPENSATED
        assert server.paths() == ["/a", "/b", "/c", "/b/undo", "/b/undo", "/a/undo"]
        assert [s.state for s in saga.steps] == [
            StepState.COMPENSATED,
            StepState.COMPENSATED,
            StepState.FAILED,
        ]
        assert ("COMPENSATION", "TIMED_OUT", 1) in kinds(saga, 1)
        assert saga.error.startswith("step 'c' failed: HTTP 400")
