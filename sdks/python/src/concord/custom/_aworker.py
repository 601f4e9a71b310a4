"""The asyncio saga worker (hand-written), to docs/sdk-helpers.md §2.

Each leased task gets a handler task and a heartbeat task; a plain-function handler runs in a
thread (`asyncio.to_thread`) so that it cannot stall the heartbeats. `stop()` cancels an
in-flight long poll; handlers still running when the grace period ends are cancelled and their
tasks handed back. Cancelling the task that runs `run()` hands every running task back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from concord._core.errors_base import ConcordError
from concord.custom._lease import now
from concord.custom._workerbase import (
    HAND_BACK_LEASE,
    MAX_POLL_BATCH,
    Running,
    WorkerSettings,
    failure,
    idle_pause,
    logger,
    poll_backoff,
    stops_worker,
)
from concord.models import Task
from concord.resources.sagas import AsyncSagasResource

AsyncTaskHandler = Callable[[Task], Awaitable[Any] | Any]


class AsyncSagaWorker(WorkerSettings):
    """The asyncio worker; the handler may be a coroutine function or a plain function.
    `await run()` returns after `stop()` and raises the error that stopped it, if any."""

    def __init__(
        self,
        resource: AsyncSagasResource,
        task_types: Sequence[str],
        handler: AsyncTaskHandler,
        **settings: Any,
    ) -> None:
        super().__init__(task_types, **settings)
        # a poll's timeout: the server-side wait plus the client's timeout (§2.2)
        self.poll_timeout = self.wait_timeout.total_seconds() + (
            resource._client.timeout.read or 60.0
        )
        self._resource = resource
        self._handler = handler
        self._stopping = asyncio.Event()
        self._changed = asyncio.Event()
        self._active: dict[str, tuple[Running, asyncio.Task[None]]] = {}
        self._fatal: ConcordError | None = None

    async def run(self) -> None:
        """Lease and handle tasks until `stop()`; then finish within the grace period."""
        self._stopping.clear()
        self._fatal = None
        try:
            await self._lease_until_stopped()
            await self._drain(self.shutdown_grace.total_seconds())
        except asyncio.CancelledError:
            await asyncio.shield(self._drain(0.0))
            raise
        if self._fatal is not None:
            raise self._fatal

    def stop(self) -> None:
        """Begin shutdown (call it on the worker's event loop): no new poll, and running
        handlers get `shutdown_grace` to finish."""
        self._stopping.set()
        self._changed.set()

    async def _lease_until_stopped(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            free = await self._free_slots()
            if free == 0:
                return
            started = now()
            try:
                tasks = await self._poll_once(free)
            except ConcordError as error:
                if stops_worker(error, polling=True):
                    self._stop_for(error)
                    return
                failures += 1
                logger.warning("saga worker %s: poll failed: %s", self.worker_id, error)
                await self._pause(poll_backoff(failures))
                continue
            failures = 0
            received = now()
            for task in tasks:
                if self._stopping.is_set():
                    await self._hand_back(task)
                else:
                    self._start(task, received)
            if not tasks:  # empty polls start at most once a second; stop() ends the pause
                await self._pause(idle_pause(started))

    async def _pause(self, seconds: float) -> None:
        """Waits `seconds`, or less when `stop()` comes first."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _free_slots(self) -> int:
        while len(self._active) >= self.concurrency and not self._stopping.is_set():
            self._changed.clear()
            await self._changed.wait()
        if self._stopping.is_set():
            return 0
        return min(self.concurrency - len(self._active), MAX_POLL_BATCH)

    async def _poll_once(self, free: int) -> list[Task]:
        """One poll, cancelled (answering []) when `stop()` comes first."""
        poll = asyncio.ensure_future(
            self._resource.poll_tasks(
                self.worker_id,
                self.task_types,
                max_tasks=free,
                visibility_timeout=self.visibility_timeout,
                wait_timeout=self.wait_timeout,
                timeout=self.poll_timeout,
            )
        )
        stopped = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({poll, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not poll.done():
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConcordError):
                await poll
            return []
        return poll.result().tasks

    # ------------------------------------------------------------------ one task

    def _start(self, task: Task, received: float) -> None:
        running = Running(task, received)
        handler = asyncio.create_task(self._handle(running))
        self._active[task.task_id] = (running, handler)
        running.extra["beat"] = asyncio.create_task(self._beat(running, handler))

    async def _handle(self, running: Running) -> None:
        task = running.task
        try:
            try:
                output = await self._call_handler(task)
                outcome: tuple[str, Any, bool] = ("complete", output, False)
            except asyncio.CancelledError:
                if running.abandoned:
                    return  # the worker cancelled it: nothing is reported
                raise
            except Exception as error:  # any handler failure fails the task
                message, final = failure(error)
                outcome = ("fail", message, final)
            running.finished = True
            if not running.abandoned:
                await self._report(task, *outcome)
        finally:
            running.finished = True
            self._active.pop(task.task_id, None)
            self._changed.set()

    async def _call_handler(self, task: Task) -> Any:
        if inspect.iscoroutinefunction(self._handler):
            return await self._handler(task)
        result = await asyncio.to_thread(self._handler, task)
        return await result if inspect.isawaitable(result) else result

    async def _report(self, task: Task, kind: str, value: Any, final: bool) -> None:
        try:
            if kind == "complete":
                await self._resource.complete_task(task.task_id, self.worker_id, output=value)
            else:
                await self._resource.fail_task(
                    task.task_id, self.worker_id, error_message=value, non_retryable=final
                )
        except ConcordError as error:  # e.g. TASK_LEASE_LOST: another worker has it now
            logger.warning("saga worker %s: task %s: %s", self.worker_id, task.task_id, error)
            if stops_worker(error):
                self._stop_for(error)

    async def _beat(self, running: Running, handler: asyncio.Task[None]) -> None:
        """Heartbeats the task's lease every visibility/3 while its handler runs."""
        next_at = running.received + self.beat_interval
        while not (running.finished or running.abandoned):
            await asyncio.sleep(max(0.0, next_at - now()))
            if running.finished or running.abandoned:
                return
            sent = now()
            running.extra["in_flight"] = True
            try:
                await self._resource.heartbeat_task(
                    running.task.task_id,
                    self.worker_id,
                    visibility_timeout=self.visibility_timeout,
                    timeout=self.beat_interval,
                    max_retries=0,
                )
                next_at = sent + self.beat_interval
            except ConcordError as error:
                pause = self.beat_pause(error)
                if pause is None:
                    logger.warning(
                        "saga worker %s: task %s abandoned: %s",
                        self.worker_id,
                        running.task.task_id,
                        error,
                    )
                    running.abandoned = "lease lost"
                    handler.cancel()
                    return
                if stops_worker(error):  # the shutdown's grace applies to this handler too
                    self._stop_for(error)
                next_at = now() + pause
            finally:
                running.extra["in_flight"] = False

    # ------------------------------------------------------------------ shutdown

    def _stop_for(self, error: ConcordError) -> None:
        if self._fatal is None:
            self._fatal = error
            logger.error("saga worker %s stops: %s", self.worker_id, error)
        self.stop()

    async def _drain(self, grace: float) -> None:
        """Lets running handlers finish within `grace` seconds, then hands the rest back."""
        handlers = [h for _, h in self._active.values()]
        if handlers and grace > 0:
            await asyncio.wait(handlers, timeout=grace)
        leftovers = [(r, h) for r, h in self._active.values() if not (r.finished or r.abandoned)]
        for running, handler in leftovers:
            running.abandoned = "handed back"
            handler.cancel()
        await asyncio.gather(*(self._hand_back_running(r) for r, _ in leftovers))

    async def _hand_back_running(self, running: Running) -> None:
        """Hands back a task given up while its handler ran, once its heartbeats have ended."""
        beat: asyncio.Task[None] = running.extra["beat"]
        if not running.extra.get("in_flight"):
            beat.cancel()  # between heartbeats; one in flight could renew the lease after us
        await asyncio.wait({beat})
        await self._hand_back(running.task)

    async def _hand_back(self, task: Task) -> None:
        """Ends the task's lease at once (never FailTask): the server offers it again."""
        try:
            await self._resource.heartbeat_task(
                task.task_id, self.worker_id, visibility_timeout=HAND_BACK_LEASE
            )
        except ConcordError as error:
            logger.info("saga worker %s: handing back %s: %s", self.worker_id, task.task_id, error)
