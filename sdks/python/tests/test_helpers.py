"""Hand-written helpers: `locks.hold()` and the saga worker, over a mocked server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from concord import LockConflictError, Task
from concord.custom import LockLostError, NonRetryableTaskError
from tests.helpers import LOCK, Recorder, error, ok


def lock_server(request: httpx.Request) -> httpx.Response:
    """Answers acquire/renew/release with a grant whose token grows on renew."""
    body = json.loads(request.content or b"{}")
    if request.url.path.endswith(":renew"):
        return ok({"lock": {**LOCK, "fencing_token": body["fencing_token"]}})
    return ok({"lock": LOCK})


def paths(rec: Recorder) -> list[str]:
    return [r.url.path.rsplit(":", 1)[-1] for r in rec.requests]


def test_hold_acquires_and_releases() -> None:
    rec = Recorder(lock_server)
    with rec.client().locks.hold("jobs", owner="w1", ttl=timedelta(seconds=30)) as lock:
        assert lock.fencing_token == 7 and lock.owner == "w1"
    assert paths(rec) == ["acquire", "release"]
    assert rec.bodies()[1] == {"owner": "w1", "fencing_token": 7}


def test_hold_releases_when_the_block_raises() -> None:
    rec = Recorder(lock_server)
    with pytest.raises(RuntimeError, match="work failed"), rec.client().locks.hold("jobs"):
        raise RuntimeError("work failed")
    assert paths(rec) == ["acquire", "release"]
    assert rec.bodies()[0]["owner"]  # a generated owner identity


def test_hold_conflict_raises_without_release() -> None:
    rec = Recorder(error(409, "LOCK_CONFLICT"))
    with pytest.raises(LockConflictError), rec.client().locks.hold("jobs"):
        pytest.fail("must not enter")
    assert paths(rec) == ["acquire"]


def test_hold_wait_timeout_extends_the_call_timeout() -> None:
    rec = Recorder(lock_server)
    with rec.client().locks.hold("jobs", wait_timeout=timedelta(seconds=20)):
        pass
    assert rec.bodies()[0]["wait_timeout"] == "20s"
    assert rec.requests[0].extensions["timeout"]["read"] == 30.0


def test_auto_renew_runs_in_the_background() -> None:
    rec = Recorder(lock_server)
    with rec.client().locks.hold("jobs", ttl=timedelta(milliseconds=60), auto_renew=True):
        time.sleep(0.15)
    assert paths(rec).count("renew") >= 2 and paths(rec)[-1] == "release"


def test_failed_renewal_surfaces_as_lock_lost() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(":renew"):
            return error(409, "LOCK_NOT_HELD")
        return lock_server(request)

    rec = Recorder(server)
    with (
        pytest.raises(LockLostError),
        rec.client().locks.hold("jobs", ttl=timedelta(milliseconds=30), auto_renew=True),
    ):
        time.sleep(0.1)


def test_async_hold() -> None:
    async def run() -> int:
        rec = Recorder(lock_server)
        async with (
            rec.async_client() as client,
            client.locks.hold("jobs", owner="w1", auto_renew=True) as lock,
        ):
            token = lock.fencing_token
        assert paths(rec) == ["acquire", "release"]
        return token

    assert asyncio.run(run()) == 7


def task(task_id: str, value: Any) -> dict[str, Any]:
    return {"task_id": task_id, "saga_id": "s1", "task_type": "charge", "input": value}


def saga_server(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/v1/tasks:poll":
        return ok({"tasks": [task("t1", 2), task("t2", -1), task("t3", 0)]})
    return ok({"saga": {"saga_id": "s1"}})


def handler(t: Task) -> Any:
    if t.input == 0:
        raise NonRetryableTaskError("zero")
    if t.input < 0:
        raise ValueError("negative")
    return {"double": t.input * 2}


def test_worker_run_once_completes_and_fails_tasks() -> None:
    rec = Recorder(saga_server)
    worker = rec.client().sagas.worker(["charge"], handler, worker_id="wk")
    assert worker.run_once() == 3
    calls = [(r.url.path, body) for r, body in zip(rec.requests, rec.bodies(), strict=True)]
    assert calls[0] == (
        "/v1/tasks:poll",
        {"worker_id": "wk", "task_types": ["charge"], "max_tasks": 10, "wait_timeout": "5s"},
    )
    assert calls[1] == ("/v1/tasks/t1:complete", {"worker_id": "wk", "output": {"double": 4}})
    assert calls[2] == (
        "/v1/tasks/t2:fail",
        {"worker_id": "wk", "non_retryable": False, "error_message": "ValueError: negative"},
    )
    assert calls[3][1]["non_retryable"] is True


def test_worker_run_stops() -> None:
    rec = Recorder(ok({"tasks": []}))
    worker = rec.client().sagas.worker(["charge"], handler)
    worker.run(max_polls=3)
    assert len(rec.requests) == 3
    thread = threading.Thread(target=worker.run)
    thread.start()
    worker.stop()
    thread.join(2)
    assert not thread.is_alive()


def test_async_worker_with_coroutine_handler() -> None:
    async def async_handler(t: Task) -> Any:
        await asyncio.sleep(0)
        return handler(t)

    async def run() -> int:
        rec = Recorder(saga_server)
        async with rec.async_client() as client:
            count = await client.sagas.worker(["charge"], async_handler).run_once()
        assert [r.url.path.rsplit(":", 1)[-1] for r in rec.requests][1:] == [
            "complete",
            "fail",
            "fail",
        ]
        return count

    assert asyncio.run(run()) == 3
