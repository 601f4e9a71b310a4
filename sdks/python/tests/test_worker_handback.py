"""Handing a task back at shutdown waits for a heartbeat in flight (docs/sdk-helpers.md §2.5).

A renewing heartbeat answered after the hand-back would give the lease its full length again,
so the server would not offer the task until that lease ran out.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import httpx

from concord import Task
from tests.helpers import Recorder, ok
from tests.test_workers import WAIT, TaskServer, run_in_thread, task

BEAT_ANSWER = 0.3  # seconds a renewing heartbeat takes to answer; its timeout is 1 s
LEASE = timedelta(seconds=3)  # heartbeats every second
GRACE = timedelta(milliseconds=10)  # ends while the first heartbeat is in flight


class SlowBeats(TaskServer):
    """Leases t1 once; a renewing heartbeat answers after BEAT_ANSWER; logs what it saw."""

    def __init__(self, asynchronous: bool) -> None:
        super().__init__(task("t1", 1))
        self.asynchronous = asynchronous
        self.log: list[str] = []
        self.beat_arrived = threading.Event()

    def __call__(self, request: httpx.Request) -> Any:
        if not request.url.path.endswith(":heartbeat"):
            return super().__call__(request)
        if b'"0.001s"' in request.content:
            self.log.append("hand-back")
            return ok({})
        self.beat_arrived.set()
        return self._slow_async() if self.asynchronous else self._slow()

    def _slow(self) -> httpx.Response:
        time.sleep(BEAT_ANSWER)
        self.log.append("beat answered")
        return ok({})

    async def _slow_async(self) -> httpx.Response:
        await asyncio.sleep(BEAT_ANSWER)
        self.log.append("beat answered")
        return ok({})


def test_the_hand_back_waits_for_a_heartbeat_in_flight() -> None:
    server = SlowBeats(asynchronous=False)
    gate = threading.Event()
    worker = (
        Recorder(server)
        .client()
        .sagas.worker(
            ["charge"], lambda t: gate.wait(WAIT), visibility_timeout=LEASE, shutdown_grace=GRACE
        )
    )
    thread, errors = run_in_thread(worker.run)
    assert server.beat_arrived.wait(WAIT)
    worker.stop()
    thread.join(WAIT)
    gate.set()
    assert not errors
    assert server.log == ["beat answered", "hand-back"]


def test_async_the_hand_back_waits_for_a_heartbeat_in_flight() -> None:
    server = SlowBeats(asynchronous=True)

    async def handler(t: Task) -> Any:
        await asyncio.sleep(WAIT)
        raise AssertionError("the handler was not cancelled")

    async def run() -> None:
        async with Recorder(server).async_client() as client:
            worker = client.sagas.worker(
                ["charge"], handler, visibility_timeout=LEASE, shutdown_grace=GRACE
            )
            running = asyncio.create_task(worker.run())
            while not server.beat_arrived.is_set():
                await asyncio.sleep(0.01)
            worker.stop()
            await asyncio.wait_for(running, WAIT)

    asyncio.run(run())
    assert server.log == ["beat answered", "hand-back"]


def test_async_a_hand_back_between_heartbeats_does_not_wait_for_the_next() -> None:
    server = TaskServer(task("t1", 1))
    started = asyncio.Event()

    async def handler(t: Task) -> Any:
        started.set()
        await asyncio.sleep(WAIT)

    async def run() -> None:
        async with Recorder(server).async_client() as client:
            worker = client.sagas.worker(
                ["charge"], handler, visibility_timeout=timedelta(seconds=60), shutdown_grace=GRACE
            )
            running = asyncio.create_task(worker.run())
            await asyncio.wait_for(started.wait(), WAIT)
            worker.stop()
            await asyncio.wait_for(running, WAIT)  # the next heartbeat is 20 s away

    asyncio.run(run())
    assert server.named("t1:heartbeat")[-1][1]["visibility_timeout"] == "0.001s"
