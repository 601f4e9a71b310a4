"""The saga workers over a mocked server: leasing, heartbeats, outcomes, shutdown, auth.

Waits are on events with generous timeouts; nothing asserts on elapsed time but the loose
bounds of the pause between empty polls.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from concord import NonRetryableTaskError, PermissionDeniedError, Task, UnauthenticatedError
from tests.helpers import Recorder, error, ok

WAIT = 10.0


def task(task_id: str, value: Any) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "saga_id": "s1",
        "task_type": "charge",
        "attempt": 1,
        "input": value,
    }


class TaskServer:
    """Hands out the queued tasks (as many as a poll asks for), records every call."""

    def __init__(self, *tasks: dict[str, Any], poll: Callable[[], httpx.Response] | None = None):
        self.queue = list(tasks)
        self.poll = poll
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.changed = threading.Condition()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        path = request.url.path
        with self.changed:
            self.calls.append((path, body))
            self.changed.notify_all()
        if path == "/v1/tasks:poll":
            if self.poll is not None:
                return self.poll()
            with self.changed:
                batch, self.queue = (
                    self.queue[: body.get("max_tasks", 1)],
                    self.queue[body.get("max_tasks", 1) :],
                )
            return ok({"tasks": batch})
        if path.endswith(":heartbeat"):
            return ok({"task": {"task_id": path.split("/")[-1].split(":")[0]}})
        return ok({"saga": {"saga_id": "s1"}})

    def wait_for(self, predicate: Callable[[list[tuple[str, dict[str, Any]]]], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.calls), WAIT), self.calls

    def named(self, suffix: str) -> list[tuple[str, dict[str, Any]]]:
        return [(p, b) for p, b in self.calls if p.endswith(suffix)]


def outcomes(t: Task) -> Any:
    if t.input == 0:
        raise NonRetryableTaskError("zero")
    if t.input < 0:
        raise ValueError("negative")
    return {"double": t.input * 2}


def run_in_thread(target: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def wrapped() -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=wrapped, daemon=True)
    thread.start()
    return thread, errors


def test_outcomes_map_to_complete_and_fail_with_the_retryable_flag() -> None:
    server = TaskServer(task("t1", 2), task("t2", -1), task("t3", 0))
    worker = Recorder(server).client().sagas.worker(["charge"], outcomes, concurrency=3)
    thread, errors = run_in_thread(worker.run)
    server.wait_for(
        lambda calls: len([c for c in calls if ":complete" in c[0] or ":fail" in c[0]]) == 3
    )
    worker.stop()
    thread.join(WAIT)
    assert not errors
    assert server.named("t1:complete")[0][1]["output"] == {"double": 4}
    assert server.named("t2:fail")[0][1] == {
        "worker_id": worker.worker_id,
        "error_message": "ValueError: negative",
        "non_retryable": False,
    }
    assert server.named("t3:fail")[0][1]["non_retryable"] is True


def test_polls_ask_for_no_more_tasks_than_free_slots() -> None:
    gate = threading.Event()
    server = TaskServer(task("t1", 1), task("t2", 1), task("t3", 1))
    worker = (
        Recorder(server).client().sagas.worker(["charge"], lambda t: gate.wait(WAIT), concurrency=2)
    )
    thread, _ = run_in_thread(worker.run)
    server.wait_for(lambda calls: len(calls) >= 1)
    assert server.named(":poll")[0][1]["max_tasks"] == 2
    gate.set()
    server.wait_for(lambda calls: len([c for c in calls if c[0].endswith(":complete")]) == 3)
    worker.stop()
    thread.join(WAIT)
    assert all(body["max_tasks"] <= 2 for _, body in server.named(":poll"))


def test_every_running_task_is_heartbeated() -> None:
    gate = threading.Event()
    server = TaskServer(task("t1", 1), task("t2", 1))
    worker = (
        Recorder(server)
        .client()
        .sagas.worker(
            ["charge"],
            lambda t: gate.wait(WAIT),
            concurrency=2,
            visibility_timeout=timedelta(seconds=0.3),
        )
    )
    thread, _ = run_in_thread(worker.run)
    server.wait_for(
        lambda calls: (
            {p for p, _ in calls if p.endswith(":heartbeat")}
            >= {"/v1/tasks/t1:heartbeat", "/v1/tasks/t2:heartbeat"}
        )
    )
    gate.set()
    worker.stop()
    thread.join(WAIT)
    assert server.named("t1:heartbeat")[0][1]["visibility_timeout"] == "0.300s"


def test_shutdown_hands_back_unfinished_tasks_and_never_fails_them() -> None:
    gate = threading.Event()
    server = TaskServer(task("t1", 1))
    worker = (
        Recorder(server)
        .client()
        .sagas.worker(
            ["charge"], lambda t: gate.wait(WAIT), shutdown_grace=timedelta(milliseconds=50)
        )
    )
    thread, _ = run_in_thread(worker.run)
    server.wait_for(lambda calls: any(p.endswith(":poll") for p, _ in calls) and not server.queue)
    worker.stop()
    thread.join(WAIT)
    gate.set()
    assert server.named("t1:heartbeat")[-1][1]["visibility_timeout"] == "0.001s"
    assert not server.named(":fail") and not server.named(":complete")


def test_shutdown_lets_running_handlers_finish_within_the_grace_period() -> None:
    started, gate = threading.Event(), threading.Event()

    def handler(t: Task) -> Any:
        started.set()
        gate.wait(WAIT)
        return {"ok": True}

    server = TaskServer(task("t1", 1))
    worker = Recorder(server).client().sagas.worker(["charge"], handler)
    thread, _ = run_in_thread(worker.run)
    assert started.wait(WAIT)
    worker.stop()
    gate.set()
    thread.join(WAIT)
    assert server.named("t1:complete")


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "UNAUTHENTICATED", UnauthenticatedError),
        (403, "PERMISSION_DENIED", PermissionDeniedError),
    ],
)
def test_auth_errors_stop_the_worker(status: int, code: str, kind: type[Exception]) -> None:
    server = TaskServer(poll=lambda: error(status, code))
    worker = Recorder(server).client().sagas.worker(["charge"], outcomes)
    with pytest.raises(kind):
        worker.run()
    assert len(server.named(":poll")) == 1


def test_a_wait_timeout_above_sixty_seconds_is_capped_and_a_negative_one_refused() -> None:
    sagas = Recorder(TaskServer()).client().sagas
    worker = sagas.worker(["charge"], outcomes, wait_timeout=timedelta(seconds=90))
    assert worker.wait_timeout == timedelta(seconds=60)
    with pytest.raises(ValueError, match="wait_timeout"):
        sagas.worker(["charge"], outcomes, wait_timeout=timedelta(seconds=-1))


def denying_heartbeats(server: TaskServer, refused_twice: Callable[[], None]) -> Any:
    """The server, but every heartbeat answers PERMISSION_DENIED; `refused_twice` is called at
    the second (the worker had handled the first by then)."""
    refusals: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(":heartbeat"):
            refusals.append(request.url.path)
            if len(refusals) == 2:
                refused_twice()
            return error(403, "PERMISSION_DENIED")
        return server(request)

    return answer


def test_an_auth_error_on_a_heartbeat_gives_the_handler_the_grace_period() -> None:
    server = TaskServer(task("t1", 1))
    gate = threading.Event()

    def handler(t: Task) -> Any:  # heartbeats go on in the shutdown's grace: it ends then
        assert gate.wait(WAIT)
        return {"done": True}

    client = Recorder(denying_heartbeats(server, gate.set)).client()
    worker = client.sagas.worker(["charge"], handler, visibility_timeout=timedelta(seconds=0.3))
    with pytest.raises(PermissionDeniedError):
        worker.run()
    assert server.named("t1:complete")  # reported: the task was not given up


def test_async_an_auth_error_on_a_heartbeat_gives_the_handler_the_grace_period() -> None:
    server = TaskServer(task("t1", 1))

    async def run() -> None:
        gate = asyncio.Event()

        async def handler(t: Task) -> Any:
            await asyncio.wait_for(gate.wait(), WAIT)
            return {"done": True}

        async with Recorder(denying_heartbeats(server, gate.set)).async_client() as client:
            worker = client.sagas.worker(
                ["charge"], handler, visibility_timeout=timedelta(seconds=0.3)
            )
            with pytest.raises(PermissionDeniedError):
                await asyncio.wait_for(worker.run(), WAIT)

    asyncio.run(run())
    assert server.named("t1:complete")


def test_a_lost_lease_is_not_reported() -> None:
    server = TaskServer(task("t1", 1))
    workers: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(":heartbeat"):
            return error(409, "TASK_LEASE_LOST")
        return server(request)

    def handler(t: Task) -> Any:  # returns only once the worker gave the task up
        running = workers[0]._active[t.task_id]
        with workers[0]._slots:
            assert workers[0]._slots.wait_for(lambda: running.abandoned, WAIT)
        return {"late": True}

    worker = (
        Recorder(answer)
        .client()
        .sagas.worker(["charge"], handler, visibility_timeout=timedelta(seconds=0.3))
    )
    workers.append(worker)
    thread, _ = run_in_thread(worker.run)
    server.wait_for(lambda calls: not server.queue)
    worker.stop()
    thread.join(WAIT)
    assert not server.named(":complete") and not server.named(":fail")


def test_async_worker_runs_coroutine_and_plain_handlers_and_stops() -> None:
    server = TaskServer(task("t1", 2), task("t2", 0))

    async def handler(t: Task) -> Any:
        await asyncio.sleep(0)
        return outcomes(t)

    async def run() -> None:
        async with Recorder(server).async_client() as client:
            worker = client.sagas.worker(["charge"], handler, concurrency=2)
            running = asyncio.create_task(worker.run())
            while len(server.named(":complete")) + len(server.named(":fail")) < 2:
                await asyncio.sleep(0.01)
            worker.stop()
            await asyncio.wait_for(running, WAIT)

    asyncio.run(run())
    assert server.named("t2:fail")[0][1]["non_retryable"] is True


def test_async_shutdown_cancels_and_hands_back() -> None:
    server = TaskServer(task("t1", 1))
    cancelled = []
    started = asyncio.Event()

    async def handler(t: Task) -> Any:
        started.set()
        try:
            await asyncio.sleep(WAIT)
        except asyncio.CancelledError:
            cancelled.append(t.task_id)
            raise

    async def run() -> None:
        async with Recorder(server).async_client() as client:
            worker = client.sagas.worker(
                ["charge"], handler, shutdown_grace=timedelta(milliseconds=50)
            )
            running = asyncio.create_task(worker.run())
            await asyncio.wait_for(started.wait(), WAIT)
            worker.stop()
            await asyncio.wait_for(running, WAIT)

    asyncio.run(run())
    assert cancelled == ["t1"]
    assert server.named("t1:heartbeat")[-1][1]["visibility_timeout"] == "0.001s"
    assert not server.named(":fail")


IDLE_RUN = 2.0  # seconds an idle worker runs: at most 3 polls once a second, 4 with slack


def test_empty_polls_start_at_most_once_a_second() -> None:
    server = TaskServer()  # every poll answers no task at once
    worker = Recorder(server).client().sagas.worker(["charge"], outcomes, wait_timeout=timedelta(0))
    thread, errors = run_in_thread(worker.run)
    time.sleep(IDLE_RUN)
    worker.stop()
    thread.join(WAIT)
    assert not errors
    assert 1 <= len(server.named(":poll")) <= 4


def test_stop_ends_the_pause_after_an_empty_poll_at_once() -> None:
    server = TaskServer()
    worker = Recorder(server).client().sagas.worker(["charge"], outcomes, wait_timeout=timedelta(0))
    thread, errors = run_in_thread(worker.run)
    server.wait_for(lambda calls: len(calls) >= 1)
    time.sleep(0.2)  # the worker pauses until a second after its first poll
    assert len(server.named(":poll")) <= 2
    stopped = time.monotonic()
    worker.stop()
    thread.join(WAIT)
    assert not thread.is_alive() and not errors
    assert time.monotonic() - stopped < 0.8


def test_async_empty_polls_start_at_most_once_a_second() -> None:
    server = TaskServer()

    async def run() -> None:
        async with Recorder(server).async_client() as client:
            worker = client.sagas.worker(["charge"], outcomes, wait_timeout=timedelta(0))
            running = asyncio.create_task(worker.run())
            await asyncio.sleep(IDLE_RUN)
            worker.stop()
            await asyncio.wait_for(running, WAIT)

    asyncio.run(run())
    assert 1 <= len(server.named(":poll")) <= 4


def test_async_stop_ends_the_pause_after_an_empty_poll_at_once() -> None:
    server = TaskServer()

    async def run() -> None:
        async with Recorder(server).async_client() as client:
            worker = client.sagas.worker(["charge"], outcomes, wait_timeout=timedelta(0))
            running = asyncio.create_task(worker.run())
            while not server.named(":poll"):
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the worker pauses until a second after its first poll
            assert len(server.named(":poll")) <= 2
            stopped = time.monotonic()
            worker.stop()
            await asyncio.wait_for(running, WAIT)
            assert time.monotonic() - stopped < 0.8

    asyncio.run(run())
