"""Live tests against a real server (skipped unless CONCORD_TEST_BASE_URL is set)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from concord import (
    AsyncConcord,
    Concord,
    EventData,
    ExpectedStreamState,
    LockConflictError,
    LockEventType,
    NotFoundError,
    SagaDefinition,
    SagaState,
    SagaWorker,
    StepAction,
    StepDefinition,
    Task,
    UnauthenticatedError,
    UnavailableError,
    WorkerTask,
)

README = Path(__file__).resolve().parents[1] / "README.md"
TTL = timedelta(seconds=30)
T = TypeVar("T")


def test_acquire_get_release_and_fencing(live: Concord, unique: str) -> None:
    name = f"{unique}-lock"
    first = live.locks.acquire(name, owner="w1", ttl=TTL).lock
    assert first is not None and first.owner == "w1" and first.expires_at is not None
    got = live.locks.get(name).lock
    assert got is not None and got.fencing_token == first.fencing_token
    live.locks.release(name, "w1", first.fencing_token)
    second = live.locks.acquire(name, "w2", TTL).lock
    assert second is not None and second.fencing_token > first.fencing_token


def test_conflict_is_a_typed_error(live: Concord, unique: str) -> None:
    name = f"{unique}-busy"
    live.locks.acquire(name, "w1", TTL)
    with pytest.raises(LockConflictError) as caught:
        live.locks.acquire(name, "w2", TTL)
    err = caught.value
    assert (err.status, err.code) == (409, "LOCK_CONFLICT") and err.request_id
    assert err.response is not None and err.details.get("name") == name


def test_missing_credentials(live_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONCORD_API_KEY", raising=False)
    monkeypatch.delenv("CONCORD_BEARER_TOKEN", raising=False)
    with Concord(base_url=live_url) as anonymous:
        assert anonymous.health.live().status is not None
        with pytest.raises(UnauthenticatedError):
            anonymous.locks.get("anything")


def test_retries_injected_faults(live: Concord, unique: str) -> None:
    fault = {"X-Concord-Test-Fault": f"{unique};2;UNAVAILABLE"}
    lock = live.locks.acquire(f"{unique}-r", "w1", TTL, extra_headers=fault).lock
    assert lock is not None
    other_fault = {"X-Concord-Test-Fault": f"{unique}b;2;UNAVAILABLE"}
    once = Concord(base_url=live.base_url, api_key=live.credentials.api_key, max_retries=1)
    with once, pytest.raises(UnavailableError):
        once.locks.get(f"{unique}-r", extra_headers=other_fault)


def test_rate_limited_fault_honours_retry_after(live: Concord, unique: str) -> None:
    started = time.monotonic()
    live.locks.acquire(
        f"{unique}-rl",
        "w1",
        TTL,
        extra_headers={"X-Concord-Test-Fault": f"{unique};1;RATE_LIMITED"},
    )
    assert time.monotonic() - started < 2.0  # Retry-After: 0 instead of backoff


def test_pagination(live: Concord, unique: str) -> None:
    for i in range(5):
        live.locks.acquire(f"{unique}-p{i}", "w1", TTL)
    names = [lock.name for lock in live.locks.list(prefix=f"{unique}-p", page_size=2)]
    assert names == [f"{unique}-p{i}" for i in range(5)]
    pages = list(live.locks.list(prefix=f"{unique}-p", page_size=2).pages())
    assert [len(p.locks) for p in pages] == [2, 2, 1]


def test_raw_response(live: Concord, unique: str) -> None:
    live.locks.acquire(f"{unique}-raw", "w1", TTL)
    raw = live.with_raw_response.locks.get(f"{unique}-raw")
    assert raw.status_code == 200 and raw.request_id.startswith("req")
    assert raw.parsed.lock is not None and raw.parsed.lock.name == f"{unique}-raw"


def test_hold_releases_on_exit_and_on_error(live: Concord, unique: str) -> None:
    name = f"{unique}-hold"
    with live.locks.hold(name, owner="a", ttl=TTL) as lock:
        assert lock.fencing_token > 0
        with pytest.raises(LockConflictError):
            live.locks.acquire(name, "b", TTL)
    live.locks.release(name, "b", live.locks.acquire(name, "b", TTL).lock.fencing_token)  # type: ignore[union-attr]
    with pytest.raises(RuntimeError), live.locks.hold(name, owner="a"):
        raise RuntimeError("boom")
    assert live.locks.acquire(name, "c", TTL).lock is not None


def test_hold_auto_renews(live: Concord, unique: str) -> None:
    name = f"{unique}-renew"
    with live.locks.hold(name, ttl=timedelta(milliseconds=600)) as lock:
        time.sleep(1.5)
        with pytest.raises(LockConflictError):
            live.locks.acquire(name, "other", TTL)
        assert not lock.lost.is_set()


def test_watch_stream_over_sse(live_url: str, live_key: str, unique: str) -> None:
    async def run() -> list[str]:
        sse = AsyncConcord(base_url=live_url, api_key=live_key, stream_transport="sse")
        async with sse as client:
            seen: list[str] = []

            async def watch() -> None:
                async for event in await client.locks.watch(prefix=unique):
                    assert event.lock is not None
                    seen.append(f"{event.type}:{event.lock.name}")
                    if len(seen) == 2:
                        break

            task = asyncio.create_task(watch())
            await asyncio.sleep(0.3)
            lock = (await client.locks.acquire(f"{unique}-w", "w1", TTL)).lock
            assert lock is not None
            await client.locks.release(f"{unique}-w", "w1", lock.fencing_token)
            await asyncio.wait_for(task, 5)
            return seen

    assert asyncio.run(run()) == [
        f"{LockEventType.ACQUIRED}:{unique}-w",
        f"{LockEventType.RELEASED}:{unique}-w",
    ]


def test_cache_and_not_found(live: Concord, unique: str) -> None:
    entry = live.cache.set(unique, "k1", {"n": 1, "tags": ["a"]}, ttl=timedelta(seconds=60)).entry
    assert entry is not None and entry.etag
    got = live.cache.get(unique, "k1").entry
    assert got is not None and got.value == {"n": 1, "tags": ["a"]}
    with pytest.raises(NotFoundError):
        live.cache.get(unique, "missing")


def test_readme_examples_run(live_url: str, live_key: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    runnable = [b for b in blocks if "# example: runnable" in b]
    assert runnable, "README has no runnable examples"
    env = {**os.environ, "CONCORD_BASE_URL": live_url, "CONCORD_API_KEY": live_key}
    grpc_target = os.environ.get("CONCORD_TEST_GRPC_TARGET", "")
    if grpc_target:
        env["CONCORD_GRPC_TARGET"] = grpc_target
    else:  # the gRPC examples need the server's gRPC address
        runnable = [b for b in runnable if "concord.grpc" not in b]
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    for block in runnable:
        result = subprocess.run(
            [sys.executable, "-c", block],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"{block}\n---\n{result.stderr}"


def served(call: Callable[[], T]) -> T:
    """`call()`, skipping the test while the server does not serve that domain yet."""
    try:
        return call()
    except UnavailableError as err:
        if "not served" in err.message:
            pytest.skip(f"the server does not serve this RPC yet: {err.message}")
        raise


def test_events_append_read_subscribe(live: Concord, unique: str) -> None:
    stream = f"{unique}-orders"
    events = [
        EventData(event_id=str(uuid.uuid4()), type="created", data={"n": i}) for i in range(3)
    ]
    appended = served(
        lambda: live.events.append(stream, events, expected_state=ExpectedStreamState.NO_STREAM)
    )
    assert appended.revisions == [0, 1, 2] or len(appended.revisions) == 3
    read = [e.data for e in live.events.read(stream, page_size=2)]
    assert read == [{"n": 0}, {"n": 1}, {"n": 2}]
    seen = []
    with live.events.subscribe(stream, from_revision=0) as subscription:
        for message in subscription:
            if message.caught_up:
                break
            assert message.event is not None
            seen.append(message.event.type)
    assert seen == ["created"] * 3


def test_saga_worker_completes_a_task(live: Concord, unique: str) -> None:
    definition = SagaDefinition(
        name="order",
        steps=[StepDefinition(name="charge", action=StepAction(task=WorkerTask(task_type=unique)))],
    )
    started = served(lambda: live.sagas.start(f"{unique}-saga", definition, input={"amount": 5}))
    assert started.saga is not None
    handled: list[Any] = []
    workers: list[SagaWorker] = []

    def charge(task: Task) -> dict[str, Any]:
        handled.append(task.input)
        workers[0].stop()  # the task is handled: shut down, reporting it first
        return {"charged": True}

    worker = live.sagas.worker([unique], charge, wait_timeout=timedelta(seconds=2))
    workers.append(worker)
    stopper = threading.Timer(10, worker.stop)
    stopper.start()
    worker.run()
    stopper.cancel()
    assert handled == [{"amount": 5}]
    saga = live.sagas.get(f"{unique}-saga").saga
    for _ in range(50):
        if saga is not None and saga.state == SagaState.COMPLETED:
            break
        time.sleep(0.1)
        saga = live.sagas.get(f"{unique}-saga").saga
    assert saga is not None and saga.state == SagaState.COMPLETED
