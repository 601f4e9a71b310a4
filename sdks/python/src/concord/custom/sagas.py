"""`client.sagas.worker(...)`: poll saga tasks, run a handler, complete or fail them."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from concord.custom.locks import default_owner
from concord.errors import ConcordError
from concord.models import Task
from concord.resources.sagas import AsyncSagasResource as GeneratedAsyncSagasResource
from concord.resources.sagas import SagasResource as GeneratedSagasResource

__all__ = [
    "AsyncSagaWorker",
    "AsyncSagasResource",
    "NonRetryableTaskError",
    "SagaWorker",
    "SagasResource",
]

logger = logging.getLogger("concord")
TaskHandler = Callable[[Task], Any]
AsyncTaskHandler = Callable[[Task], Awaitable[Any] | Any]
DEFAULT_WAIT = timedelta(seconds=5)
WAIT_MARGIN = 10.0


class NonRetryableTaskError(Exception):
    """Raise it from a handler to fail the task without further retries."""


class _WorkerBase:
    """Settings shared by the sync and async workers."""

    def __init__(
        self,
        task_types: Sequence[str],
        *,
        worker_id: str | None = None,
        max_tasks: int = 10,
        visibility_timeout: timedelta | None = None,
        wait_timeout: timedelta = DEFAULT_WAIT,
    ) -> None:
        if not task_types:
            raise ValueError("a worker needs at least one task type")
        self.task_types = list(task_types)
        self.worker_id = worker_id or default_owner()
        self.max_tasks = max_tasks
        self.visibility_timeout = visibility_timeout
        self.wait_timeout = wait_timeout
        self.poll_timeout = wait_timeout.total_seconds() + WAIT_MARGIN

    @staticmethod
    def failure(error: Exception) -> tuple[str, bool]:
        """The error message and non-retryable flag reported for a handler exception."""
        message = f"{type(error).__name__}: {error}"
        return message, isinstance(error, NonRetryableTaskError)


class SagaWorker(_WorkerBase):
    """Runs `handler(task)` for each polled task: its return value completes the task, an
    exception fails it (`NonRetryableTaskError` without retries).
    """

    def __init__(
        self,
        resource: GeneratedSagasResource,
        task_types: Sequence[str],
        handler: TaskHandler,
        **settings: Any,
    ) -> None:
        super().__init__(task_types, **settings)
        self._resource = resource
        self._handler = handler
        self._stop = threading.Event()

    def run_once(self) -> int:
        """Poll once (waiting up to `wait_timeout`) and handle what came; the number handled."""
        response = self._resource.poll_tasks(
            self.worker_id,
            self.task_types,
            max_tasks=self.max_tasks,
            visibility_timeout=self.visibility_timeout,
            wait_timeout=self.wait_timeout,
            timeout=self.poll_timeout,
        )
        for task in response.tasks:
            self._handle(task)
        return len(response.tasks)

    def run(self, *, max_polls: int | None = None) -> None:
        """Poll until `stop()` (or `max_polls` polls); API errors are logged, not raised."""
        polls = 0
        while not self._stop.is_set() and (max_polls is None or polls < max_polls):
            polls += 1
            try:
                self.run_once()
            except ConcordError as error:
                logger.warning("saga worker %s: poll failed: %s", self.worker_id, error)
                self._stop.wait(1.0)

    def stop(self) -> None:
        """Ask `run()` to return after the current poll."""
        self._stop.set()

    def _handle(self, task: Task) -> None:
        try:
            output = self._handler(task)
        except Exception as error:  # any handler failure fails the task
            message, non_retryable = self.failure(error)
            self._report(
                task,
                lambda: self._resource.fail_task(
                    task.task_id, self.worker_id, error_message=message, non_retryable=non_retryable
                ),
            )
            return
        self._report(
            task, lambda: self._resource.complete_task(task.task_id, self.worker_id, output=output)
        )

    def _report(self, task: Task, call: Callable[[], object]) -> None:
        try:
            call()
        except ConcordError as error:  # e.g. TASK_LEASE_LOST: another worker has it now
            logger.warning("saga worker %s: task %s: %s", self.worker_id, task.task_id, error)


class AsyncSagaWorker(_WorkerBase):
    """The asyncio worker; the handler may be a coroutine function or a plain function."""

    def __init__(
        self,
        resource: GeneratedAsyncSagasResource,
        task_types: Sequence[str],
        handler: AsyncTaskHandler,
        **settings: Any,
    ) -> None:
        super().__init__(task_types, **settings)
        self._resource = resource
        self._handler = handler
        self._stopped = asyncio.Event()

    async def run_once(self) -> int:
        """Poll once and handle what came; the number handled."""
        response = await self._resource.poll_tasks(
            self.worker_id,
            self.task_types,
            max_tasks=self.max_tasks,
            visibility_timeout=self.visibility_timeout,
            wait_timeout=self.wait_timeout,
            timeout=self.poll_timeout,
        )
        for task in response.tasks:
            await self._handle(task)
        return len(response.tasks)

    async def run(self, *, max_polls: int | None = None) -> None:
        """Poll until `stop()` (or `max_polls` polls); API errors are logged, not raised."""
        polls = 0
        while not self._stopped.is_set() and (max_polls is None or polls < max_polls):
            polls += 1
            try:
                await self.run_once()
            except ConcordError as error:
                logger.warning("saga worker %s: poll failed: %s", self.worker_id, error)
                await asyncio.sleep(1.0)

    def stop(self) -> None:
        """Ask `run()` to return after the current poll."""
        self._stopped.set()

    async def _handle(self, task: Task) -> None:
        try:
            output = self._handler(task)
            if inspect.isawaitable(output):
                output = await output
        except Exception as error:  # any handler failure fails the task
            message, non_retryable = self.failure(error)
            try:
                await self._resource.fail_task(
                    task.task_id, self.worker_id, error_message=message, non_retryable=non_retryable
                )
            except ConcordError as report_error:
                logger.warning("saga worker %s: %s", self.worker_id, report_error)
            return
        try:
            await self._resource.complete_task(task.task_id, self.worker_id, output=output)
        except ConcordError as report_error:
            logger.warning("saga worker %s: %s", self.worker_id, report_error)


class SagasResource(GeneratedSagasResource):
    """`client.sagas`: the generated calls plus `worker()`."""

    def worker(
        self,
        task_types: Sequence[str],
        handler: TaskHandler,
        *,
        worker_id: str | None = None,
        max_tasks: int = 10,
        visibility_timeout: timedelta | None = None,
        wait_timeout: timedelta = DEFAULT_WAIT,
    ) -> SagaWorker:
        """A worker for `task_types`; call `run_once()` or `run()` on it."""
        return SagaWorker(
            self,
            task_types,
            handler,
            worker_id=worker_id,
            max_tasks=max_tasks,
            visibility_timeout=visibility_timeout,
            wait_timeout=wait_timeout,
        )


class AsyncSagasResource(GeneratedAsyncSagasResource):
    """`client.sagas` of `AsyncConcord`: the generated calls plus `worker()`."""

    def worker(
        self,
        task_types: Sequence[str],
        handler: AsyncTaskHandler,
        *,
        worker_id: str | None = None,
        max_tasks: int = 10,
        visibility_timeout: timedelta | None = None,
        wait_timeout: timedelta = DEFAULT_WAIT,
    ) -> AsyncSagaWorker:
        """An asyncio worker for `task_types`; await `run_once()` or `run()` on it."""
        return AsyncSagaWorker(
            self,
            task_types,
            handler,
            worker_id=worker_id,
            max_tasks=max_tasks,
            visibility_timeout=visibility_timeout,
            wait_timeout=wait_timeout,
        )
