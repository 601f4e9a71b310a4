"""The thread-based saga worker (hand-written), to docs/sdk-helpers.md §2.

Each leased task gets a handler thread and a heartbeat thread. Polls run on a thread of their
own so that `stop()` ends a long poll's wait at once; tasks such an abandoned poll still
receives are handed back. Python threads cannot be interrupted: a handler still running when
the grace period ends keeps running in the background, but its task is handed back and its
outcome discarded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
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
from concord.resources.sagas import SagasResource

TaskHandler = Callable[[Task], Any]


class _Poll:
    """One poll's answer, or its abandonment by `stop()`."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.mu = threading.Lock()
        self.tasks: list[Task] | None = None
        self.error: ConcordError | None = None
        self.abandoned = False


class SagaWorker(WorkerSettings):
    """Runs `handler(task)` for leased tasks: its return value completes the task, an exception
    fails it (`NonRetryableTaskError` without retries). `run()` blocks until `stop()` (from
    another thread or a signal handler) and raises the error that stopped it, if any."""

    def __init__(
        self,
        resource: SagasResource,
        task_types: Sequence[str],
        handler: TaskHandler,
        **settings: Any,
    ) -> None:
        super().__init__(task_types, **settings)
        # a poll's timeout: the server-side wait plus the client's timeout (§2.2)
        self.poll_timeout = self.wait_timeout.total_seconds() + (
            resource._client.timeout.read or 60.0
        )
        self._resource = resource
        self._handler = handler
        self._stopping = threading.Event()
        self._slots = threading.Condition(threading.RLock())  # stop() may run in a signal handler
        self._active: dict[str, Running] = {}
        self._poll: _Poll | None = None
        self._fatal: ConcordError | None = None

    def run(self) -> None:
        """Lease and handle tasks until `stop()`; then finish within the grace period."""
        self._stopping.clear()
        self._fatal = None
        failures = 0
        while not self._stopping.is_set():
            free = self._free_slots()
            if free == 0:
                break
            started = now()
            try:
                tasks = self._poll_once(free)
            except ConcordError as error:
                if stops_worker(error, polling=True):
                    self._stop_for(error)
                    break
                failures += 1
                logger.warning("saga worker %s: poll failed: %s", self.worker_id, error)
                self._stopping.wait(poll_backoff(failures))
                continue
            failures = 0
            received = now()
            for task in tasks:
                self._start(task, received)
            if not tasks:  # empty polls start at most once a second; stop() ends the pause
                self._stopping.wait(idle_pause(started))
        self._drain()
        if self._fatal is not None:
            raise self._fatal

    def stop(self) -> None:
        """Begin shutdown: no new poll; running handlers get `shutdown_grace` to finish."""
        self._stopping.set()
        poll = self._poll
        if poll is not None:
            poll.done.set()
        with self._slots:
            self._slots.notify_all()

    # ------------------------------------------------------------------ leasing

    def _free_slots(self) -> int:
        """Waits for a free slot; the number free (0 once shutdown began)."""
        with self._slots:
            while len(self._active) >= self.concurrency and not self._stopping.is_set():
                self._slots.wait()
            if self._stopping.is_set():
                return 0
            return min(self.concurrency - len(self._active), MAX_POLL_BATCH)

    def _poll_once(self, free: int) -> list[Task]:
        """One poll on its own thread; [] when `stop()` came first."""
        poll = self._poll = _Poll()
        thread = threading.Thread(target=self._poll_into, args=(poll, free), daemon=True)
        thread.start()
        poll.done.wait()
        with poll.mu:
            if poll.tasks is None and poll.error is None:
                poll.abandoned = True  # its tasks, if any come, are handed back
                return []
        if poll.error is not None:
            raise poll.error
        return poll.tasks or []

    def _poll_into(self, poll: _Poll, free: int) -> None:
        tasks: list[Task] = []
        error: ConcordError | None = None
        try:
            tasks = self._resource.poll_tasks(
                self.worker_id,
                self.task_types,
                max_tasks=free,
                visibility_timeout=self.visibility_timeout,
                wait_timeout=self.wait_timeout,
                timeout=self.poll_timeout,
            ).tasks
        except ConcordError as exc:
            error = exc
        with poll.mu:
            if not poll.abandoned and not self._stopping.is_set():
                poll.tasks, poll.error = tasks, error
                poll.done.set()
                return
            poll.abandoned = True
        for task in tasks:
            self._hand_back(task)

    # ------------------------------------------------------------------ one task

    def _start(self, task: Task, received: float) -> None:
        running = Running(task, received)
        with self._slots:
            self._active[task.task_id] = running
        beat = threading.Thread(target=self._beat, args=(running,), daemon=True)
        running.extra["beat"] = beat
        threading.Thread(target=self._handle, args=(running,), daemon=True).start()
        beat.start()

    def _handle(self, running: Running) -> None:
        task = running.task
        try:
            output = self._handler(task)
            outcome: tuple[str, Any, bool] = ("complete", output, False)
        except Exception as error:  # any handler failure fails the task
            message, final = failure(error)
            outcome = ("fail", message, final)
        with self._slots:
            running.finished = True
            report = not running.abandoned
        try:
            if report:
                self._report(task, *outcome)
        finally:
            with self._slots:
                self._active.pop(task.task_id, None)
                self._slots.notify_all()

    def _report(self, task: Task, kind: str, value: Any, final: bool) -> None:
        try:
            if kind == "complete":
                self._resource.complete_task(task.task_id, self.worker_id, output=value)
            else:
                self._resource.fail_task(
                    task.task_id, self.worker_id, error_message=value, non_retryable=final
                )
        except ConcordError as error:  # e.g. TASK_LEASE_LOST: another worker has it now
            logger.warning("saga worker %s: task %s: %s", self.worker_id, task.task_id, error)
            if stops_worker(error):
                self._stop_for(error)

    def _beat(self, running: Running) -> None:
        """Heartbeats the task's lease every visibility/3 while its handler runs."""
        next_at = running.received + self.beat_interval
        while True:
            with self._slots:
                wait = max(0.0, next_at - now())
                if running.finished or running.abandoned:
                    return
                self._slots.wait(wait)
                if running.finished or running.abandoned:
                    return
            if now() < next_at:
                continue
            sent = now()
            try:
                self._resource.heartbeat_task(
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
                    self._give_up(running, error)
                    return
                if stops_worker(error):  # the shutdown's grace applies to this handler too
                    self._stop_for(error)
                next_at = now() + pause

    def _give_up(self, running: Running, error: ConcordError) -> None:
        logger.warning(
            "saga worker %s: task %s abandoned: %s", self.worker_id, running.task.task_id, error
        )
        with self._slots:
            running.abandoned = "lease lost"
            self._slots.notify_all()

    # ------------------------------------------------------------------ shutdown

    def _stop_for(self, error: ConcordError) -> None:
        if self._fatal is None:
            self._fatal = error
            logger.error("saga worker %s stops: %s", self.worker_id, error)
        self.stop()

    def _drain(self) -> None:
        """Lets running handlers finish within the grace period, then hands the rest back."""
        deadline = now() + self.shutdown_grace.total_seconds()
        with self._slots:
            while self._active and now() < deadline:
                self._slots.wait(deadline - now())
            leftovers = [r for r in self._active.values() if not (r.finished or r.abandoned)]
            for running in leftovers:
                running.abandoned = "handed back"
            self._slots.notify_all()
        for running in leftovers:  # a heartbeat in flight could renew the lease after a hand-back
            running.extra["beat"].join()
            self._hand_back(running.task)

    def _hand_back(self, task: Task) -> None:
        """Ends the task's lease at once (never FailTask): the server offers it again."""
        try:
            self._resource.heartbeat_task(
                task.task_id, self.worker_id, visibility_timeout=HAND_BACK_LEASE
            )
        except ConcordError as error:
            logger.info("saga worker %s: handing back %s: %s", self.worker_id, task.task_id, error)
