"""The state every lock hold keeps (hand-written): the grant, its local deadline, the loss."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from concord._core import retries
from concord._core.errors_base import ConcordAPIError
from concord.custom._lease import (
    DEFAULT_TTL,
    LeaseTiming,
    LockLostError,
    default_owner,
    now,
)
from concord.models import Lock

logger = logging.getLogger("concord")


class HoldBase:
    """Parameters, the latest grant and its deadline, and the lost error once there is one."""

    def __init__(
        self,
        name: str,
        *,
        owner: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        wait_timeout: timedelta | None = None,
        auto_renew: bool = True,
        call_timeout: float | None = None,
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self.name = name
        self.owner = owner or default_owner()
        self.ttl = ttl
        self.wait_timeout = wait_timeout
        self.auto_renew = auto_renew
        self.timing = LeaseTiming(ttl.total_seconds())
        self.released = False
        self._call_timeout = call_timeout or 60.0
        self._mu = threading.Lock()
        self._lock: Lock | None = None
        self._deadline = 0.0
        self._next_renewal = 0.0
        self._last_error: BaseException | None = None
        self._lost_error: LockLostError | None = None
        self._gone = False

    @property
    def lock(self) -> Lock:
        """The latest grant (after acquire or the last renewal)."""
        if self._lock is None:
            raise RuntimeError("the lock is not held: use it inside `with`")
        return self._lock

    @property
    def fencing_token(self) -> int:
        """The fencing token of the grant: pass it to the storage the lock protects."""
        return self.lock.fencing_token

    @property
    def lost_error(self) -> LockLostError | None:
        """Why the hold was lost; None while it is trusted."""
        return self._lost_error

    def check(self) -> None:
        """Raise the `LockLostError` when the hold was lost; do nothing while it is held."""
        if self._lost_error is not None:
            raise self._lost_error

    def _acquire_timeout(self) -> float:
        """A call timeout that outlasts the server-side wait in line: the wait plus the client's
        timeout (docs/sdk-helpers.md §1.2)."""
        wait = self.wait_timeout.total_seconds() if self.wait_timeout is not None else 0.0
        return self._call_timeout + wait

    def _granted(self, lock: Lock | None, sent: float, ttl: timedelta | None = None) -> None:
        """Records a grant or renewal whose call was sent at `sent` (monotonic)."""
        timing = self.timing if ttl is None else LeaseTiming(ttl.total_seconds())
        with self._mu:
            if lock is not None:
                self._lock = lock
            self._deadline = timing.deadline(sent)
            self._next_renewal = sent + self.timing.renew_interval
            self._last_error = None

    def _remaining(self) -> float:
        """Seconds until the local deadline (negative once it passed)."""
        return self._deadline - now()

    def _lose(self, reason: str, cause: BaseException | None, gone: bool = False) -> bool:
        """Records the loss once; whether this call was the first to record it."""
        with self._mu:
            if self._lost_error is not None:
                return False
            self._lost_error = LockLostError(self.name, reason, cause)
            self._gone = self._gone or gone
        logger.warning("%s", self._lost_error)
        return True

    def _retry_pause(self, error: BaseException) -> float:
        """Seconds before retrying a transient renewal failure, never past the deadline."""
        pause = self.timing.retry_interval
        if isinstance(error, ConcordAPIError) and error.response is not None:
            hinted = retries.retry_after(error.response.headers)
            if hinted is not None:
                pause = hinted
        return max(0.0, min(pause, self._remaining()))

    def _exit_error(self, body_error: BaseException | None) -> LockLostError | None:
        """The lost error the scope exit raises: only when the block itself ended normally.
        When the block failed, the loss is attached to its error and logged."""
        lost = self._lost_error
        if lost is None:
            return None
        if body_error is None:
            return lost
        note: Any = getattr(body_error, "add_note", None)
        if callable(note):
            note(f"while holding: {lost}")
        return None
