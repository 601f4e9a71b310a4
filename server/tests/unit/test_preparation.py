"""Start-up steps (issue 7, finding 4): a step whose engine cannot serve is retried with backoff
in the background while readiness says what is pending; any other failure of a first try fails
the start-up, as a bad URL always did."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from concord_server import preparation
from concord_server._gen.concord.v1 import health_pb2, locks_pb2
from concord_server.api.rpcs import all_rpcs
from concord_server.component import Component
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.errors import ConcordError, ErrorCode
from concord_server.preparation import Preparation, Step, backoff
from concord_server.runtime import Runtime
from tests.fakes import FakeComponent

DOWN = ConcordError(ErrorCode.UNAVAILABLE, "lock storage (Redis) is unavailable: cannot connect")
WAIT = 30.0  # seconds: generous, the machine may be busy


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries after a millisecond, so the tests wait on outcomes, not on pauses."""
    monkeypatch.setattr(preparation, "BACKOFF_FIRST", 0.001)
    monkeypatch.setattr(preparation, "BACKOFF_MAX", 0.01)


def scripted(
    *outcomes: BaseException | None,
) -> tuple[Callable[[], Awaitable[list[Component]]], list[int]]:
    """A step body that raises the outcomes in turn (None: succeeds), then succeeds."""
    calls = [0]

    async def run() -> list[Component]:
        calls[0] += 1
        outcome = outcomes[calls[0] - 1] if calls[0] <= len(outcomes) else None
        if outcome is not None:
            raise outcome
        return [FakeComponent(f"opened-{calls[0]}")]

    return run, calls


class Readiness:
    """Counts the calls of `on_ready`."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1


def test_backoff_doubles_up_to_its_ceiling_with_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preparation, "BACKOFF_FIRST", 0.5)
    monkeypatch.setattr(preparation, "BACKOFF_MAX", 10.0)
    rng = random.Random(7)
    assert 0.25 <= backoff(1, rng) <= 0.5
    assert 0.5 <= backoff(2, rng) <= 1.0
    assert all(5.0 <= backoff(n, rng) <= 10.0 for n in (6, 50, 100_000))


async def test_steps_that_succeed_at_once_make_the_server_ready_before_start_returns() -> None:
    run, _ = scripted()
    ready, components = Readiness(), list[Component]()
    prep = Preparation([Step("locks", "sqlite", run)], ready, components)
    await prep.start()
    assert ready.calls == 1 and prep.ready.is_set() and prep.pending() == []
    assert [c.name for c in components] == ["opened-1"]


async def test_an_engine_outage_is_retried_in_the_background_until_it_ends() -> None:
    run, calls = scripted(DOWN, DOWN, DOWN)
    other, _ = scripted()
    ready, components = Readiness(), list[Component]()
    prep = Preparation(
        [Step("locks", "redis", run), Step("rbac", "sqlite", other)], ready, components
    )
    await prep.start()
    await asyncio.wait_for(prep.ready.wait(), WAIT)
    assert ready.calls == 1 and calls[0] == 4
    assert sorted(c.name for c in components) == ["opened-1", "opened-4"]
    await prep.stop()


async def test_while_pending_readiness_and_calls_say_what_is_missing() -> None:
    gate = asyncio.Event()

    async def run() -> list[Component]:
        if not gate.is_set():
            raise DOWN
        return []

    components: list[Component] = []
    prep = Preparation([Step("locks", "redis", run)], Readiness(), components)
    await prep.start()
    assert prep.pending() == ["locks"]
    [step] = components
    with pytest.raises(ConcordError) as pending:
        await step.check()
    assert pending.value.code is ErrorCode.UNAVAILABLE
    assert pending.value.message == f"starting: {DOWN.message}"
    held = prep.not_ready()
    assert held.code is ErrorCode.UNAVAILABLE and held.headers == {"Retry-After": "1"}
    assert held.details == {"reason": "starting", "pending": ["locks"]}
    gate.set()
    await asyncio.wait_for(prep.ready.wait(), WAIT)
    assert components == [] and prep.pending() == []


@pytest.mark.parametrize(
    "first",
    [ConcordError(ErrorCode.INVALID_ARGUMENT, "no locks backend for 'x'"), RuntimeError("bug")],
    ids=["bad-url", "bug"],
)
async def test_any_other_failure_of_a_first_try_fails_the_start(first: Exception) -> None:
    run, _ = scripted(first)
    slow, slow_calls = scripted(*([DOWN] * 1000))
    ready = Readiness()
    prep = Preparation([Step("locks", "x", run), Step("cache", "redis", slow)], ready, [])
    with pytest.raises(type(first)) as caught:
        await prep.start()
    assert caught.value is first
    tries = slow_calls[0]
    await asyncio.sleep(0.05)
    assert slow_calls[0] == tries, "the other steps were stopped"
    assert ready.calls == 0


async def test_a_later_failure_of_another_kind_is_retried_too() -> None:
    run, calls = scripted(DOWN, ConcordError(ErrorCode.INTERNAL, "lock storage failed"), DOWN)
    prep = Preparation([Step("locks", "postgresql", run)], Readiness(), [])
    await prep.start()
    await asyncio.wait_for(prep.ready.wait(), WAIT)
    assert calls[0] == 4


async def test_a_first_try_that_ends_after_the_start_is_retried_whatever_it_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(preparation, "FIRST_TRY_SECONDS", 0.01)
    release, tries = asyncio.Event(), [0]

    async def run() -> list[Component]:
        tries[0] += 1
        if tries[0] == 1:
            await release.wait()  # still trying when start-up stops waiting
            raise ConcordError(ErrorCode.INTERNAL, "lock storage (PostgreSQL) failed")
        return []

    ready = Readiness()
    prep = Preparation([Step("locks", "postgresql", run)], ready, [])
    await prep.start()
    assert prep.pending() == ["locks"]
    release.set()
    await asyncio.wait_for(prep.ready.wait(), WAIT)
    assert tries[0] == 2 and ready.calls == 1


async def test_a_try_that_hangs_is_cut_off_and_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preparation, "ATTEMPT_SECONDS", 0.05)
    tries = [0]

    async def run() -> list[Component]:
        tries[0] += 1
        if tries[0] == 1:
            await asyncio.Event().wait()  # an engine that never answers
        return []

    prep = Preparation([Step("locks", "postgresql", run)], Readiness(), [])
    await prep.start()
    await asyncio.wait_for(prep.ready.wait(), WAIT)
    assert tries[0] == 2


async def test_stop_ends_the_retries() -> None:
    run, calls = scripted(*([DOWN] * 100_000))
    ready = Readiness()
    prep = Preparation([Step("locks", "redis", run)], ready, [])
    await prep.start()
    await prep.stop()
    tries = calls[0]
    await asyncio.sleep(0.05)
    assert calls[0] == tries and ready.calls == 0


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_runtime_with_a_bad_url_fails_to_start(tmp_path: Path) -> None:
    runtime = Runtime(Settings(data_dir=tmp_path, locks_url="nosuch://x"))
    with pytest.raises(ConcordError) as caught:
        await runtime.start()
    await runtime.stop()
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT


async def test_a_runtime_whose_engine_is_down_starts_and_holds_calls(tmp_path: Path) -> None:
    down = f"postgresql://postgres@127.0.0.1:{closed_port()}/concord"
    runtime = Runtime(Settings(data_dir=tmp_path, locks_url=down))
    dispatcher = await runtime.start()
    try:
        rpcs = {rpc.name: rpc for rpc in all_rpcs()}
        ctx = CallContext(request_id="r1", headers={"x-api-key": "k"})
        with pytest.raises(ConcordError) as held:
            await dispatcher.call(rpcs["GetLock"], locks_pb2.GetLockRequest(name="a"), ctx)
        assert held.value.code is ErrorCode.UNAVAILABLE
        assert held.value.details == {"reason": "starting", "pending": ["locks"]}
        ready = rpcs["GetReadiness"]
        readiness = await dispatcher.call(ready, ready.request_cls(), ctx)
        states = {c.name: c.status for c in readiness.components}  # type: ignore[attr-defined]
        assert states["locks"] == health_pb2.SERVING_STATUS_NOT_SERVING
        assert states["events"] == health_pb2.SERVING_STATUS_SERVING
    finally:
        await runtime.stop()
