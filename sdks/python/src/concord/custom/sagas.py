"""`client.sagas.worker(...)`: lease saga tasks, run a handler, report the outcome.

The semantics are docs/sdk-helpers.md §2; `SagaWorker` (threads) and `AsyncSagaWorker`
(asyncio) implement them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from concord.custom._aworker import AsyncSagaWorker, AsyncTaskHandler
from concord.custom._worker import SagaWorker, TaskHandler
from concord.custom._workerbase import (
    DEFAULT_GRACE,
    DEFAULT_VISIBILITY,
    DEFAULT_WAIT,
    NonRetryableTaskError,
)
from concord.resources.sagas import AsyncSagasResource as GeneratedAsyncSagasResource
from concord.resources.sagas import SagasResource as GeneratedSagasResource

__all__ = [
    "AsyncSagaWorker",
    "AsyncSagasResource",
    "NonRetryableTaskError",
    "SagaWorker",
    "SagasResource",
]


class SagasResource(GeneratedSagasResource):
    """`client.sagas`: the generated calls plus `worker()`."""

    def worker(
        self,
        task_types: Sequence[str],
        handler: TaskHandler,
        *,
        worker_id: str | None = None,
        concurrency: int = 1,
        visibility_timeout: timedelta = DEFAULT_VISIBILITY,
        wait_timeout: timedelta = DEFAULT_WAIT,
        shutdown_grace: timedelta = DEFAULT_GRACE,
    ) -> SagaWorker:
        """A worker for `task_types` running up to `concurrency` handlers at once (each in a
        thread); `run()` it, and `stop()` it from another thread or a signal handler."""
        return SagaWorker(
            self,
            task_types,
            handler,
            worker_id=worker_id,
            concurrency=concurrency,
            visibility_timeout=visibility_timeout,
            wait_timeout=wait_timeout,
            shutdown_grace=shutdown_grace,
        )


class AsyncSagasResource(GeneratedAsyncSagasResource):
    """`client.sagas` of `AsyncConcord`: the generated calls plus `worker()`."""

    def worker(
        self,
        task_types: Sequence[str],
        handler: AsyncTaskHandler,
        *,
        worker_id: str | None = None,
        concurrency: int = 1,
        visibility_timeout: timedelta = DEFAULT_VISIBILITY,
        wait_timeout: timedelta = DEFAULT_WAIT,
        shutdown_grace: timedelta = DEFAULT_GRACE,
    ) -> AsyncSagaWorker:
        """An asyncio worker for `task_types`; `await worker.run()`, `worker.stop()` ends it."""
        return AsyncSagaWorker(
            self,
            task_types,
            handler,
            worker_id=worker_id,
            concurrency=concurrency,
            visibility_timeout=visibility_timeout,
            wait_timeout=wait_timeout,
            shutdown_grace=shutdown_grace,
        )
