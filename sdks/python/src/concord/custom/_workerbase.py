"""What the saga workers share (hand-written): settings, outcomes, error classes.

The rules are docs/sdk-helpers.md §2: lease at most `concurrency` tasks, start empty polls at
most once a second, heartbeat each task every visibility/3, stop leasing on shutdown, let handlers
finish within `shutdown_grace`, hand back (never fail) the ones that do not, stop on
UNAUTHENTICATED / PERMISSION_DENIED.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from concord._core.errors_base import ConcordAPIError
from concord.custom._lease import default_owner, is_transient, now
from concord.models import Task

logger = logging.getLogger("concord")
DEFAULT_VISIBILITY: Final = timedelta(seconds=30)
DEFAULT_WAIT: Final = timedelta(seconds=20)
MAX_WAIT: Final = timedelta(seconds=60)  # the longest wait of one poll the contract accepts
DEFAULT_GRACE: Final = timedelta(seconds=20)
# A handed-back task's lease ends this soon: the server offers the task again at once.
HAND_BACK_LEASE: Final = timedelta(milliseconds=1)
MAX_ERROR_MESSAGE: Final = 4000
MAX_POLL_BATCH: Final = 100
IDLE_POLL_INTERVAL: Final = 1.0  # seconds: polls that come back empty start at most this often
STOPPING_CODES: Final = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})
LEASE_GONE_CODES: Final = frozenset({"TASK_LEASE_LOST", "NOT_FOUND"})


class NonRetryableTaskError(Exception):
    """Raise it from a handler to fail the task without further retries."""


def stops_worker(error: BaseException, polling: bool = False) -> bool:
    """UNAUTHENTICATED / PERMISSION_DENIED from any call, INVALID_ARGUMENT from a poll."""
    if not isinstance(error, ConcordAPIError):
        return False
    return error.code in STOPPING_CODES or (polling and error.code == "INVALID_ARGUMENT")


def lease_gone(error: BaseException) -> bool:
    """Whether a heartbeat says the task is no longer this worker's."""
    return isinstance(error, ConcordAPIError) and error.code in LEASE_GONE_CODES


def failure(error: BaseException) -> tuple[str, bool]:
    """FailTask's `error_message` and `non_retryable` for a handler's exception."""
    message = f"{type(error).__name__}: {error}"[:MAX_ERROR_MESSAGE]
    return message, isinstance(error, NonRetryableTaskError)


def poll_backoff(failures: int) -> float:
    """Seconds before polling again after `failures` failed polls: ~1s doubling to 30s."""
    base = min(2.0 ** (failures - 1), 30.0)
    return base * (0.5 + random.random() / 2)


def idle_pause(started: float) -> float:
    """Seconds before polling again after an empty poll that started at `started` (monotonic):
    until IDLE_POLL_INTERVAL after it started."""
    return max(0.0, started + IDLE_POLL_INTERVAL - now())


@dataclass
class Running:
    """One leased task: its handler's state and whether the worker gave it up."""

    task: Task
    received: float
    finished: bool = False
    abandoned: str = ""  # why the worker gave the task up ("lease lost", "handed back")
    extra: dict[str, Any] = field(default_factory=dict)


class WorkerSettings:
    """Validated settings shared by the sync and async workers."""

    def __init__(
        self,
        task_types: Sequence[str],
        *,
        worker_id: str | None = None,
        concurrency: int = 1,
        visibility_timeout: timedelta = DEFAULT_VISIBILITY,
        wait_timeout: timedelta = DEFAULT_WAIT,
        shutdown_grace: timedelta = DEFAULT_GRACE,
    ) -> None:
        if not task_types:
            raise ValueError("a worker needs at least one task type")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if wait_timeout < timedelta(0):
            raise ValueError("wait_timeout must not be negative")
        self.task_types = list(task_types)
        self.worker_id = worker_id or default_owner()
        self.concurrency = concurrency
        self.visibility_timeout = visibility_timeout
        self.wait_timeout = min(wait_timeout, MAX_WAIT)  # the most a poll may wait
        self.shutdown_grace = shutdown_grace

    @property
    def beat_interval(self) -> float:
        """Seconds between heartbeats of a task: a third of the visibility timeout."""
        return self.visibility_timeout.total_seconds() / 3

    @property
    def beat_retry(self) -> float:
        """Seconds before retrying a transient heartbeat failure: min(visibility/10, 1s)."""
        return min(self.visibility_timeout.total_seconds() / 10, 1.0)

    def beat_pause(self, error: BaseException) -> float | None:
        """The pause before the next heartbeat after `error`; None when the lease is gone."""
        if lease_gone(error):
            return None
        return self.beat_retry if is_transient(error) else self.beat_interval
