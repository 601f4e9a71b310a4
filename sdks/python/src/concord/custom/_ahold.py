"""`async with client.locks.hold(...) as lock:` (hand-written), to docs/sdk-helpers.md §1.

An asyncio task renews the lease every ttl/3, each renewal bounded by the remaining lease; a
loop timer fires at the local deadline. When the hold is lost, `lock.lost` (an
`asyncio.Event`) is set and the task running the block is cancelled, like `asyncio.timeout`:
the exit turns that cancellation into `LockLostError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from datetime import timedelta
from types import TracebackType
from typing import Any

from concord._core.errors_base import ConcordError
from concord.custom._holdbase import HoldBase, logger
from concord.custom._lease import RELEASE_BUDGET, is_gone, is_transient, now, release_pause
from concord.models import Lock
from concord.resources.locks import AsyncLocksResource


class AsyncHeldLock(HoldBase):
    """The asyncio hold: acquired by `async with`, renewed in a task, released on exit (even
    when the caller is cancelled); a lost hold cancels the block and raises `LockLostError`."""

    def __init__(self, resource: AsyncLocksResource, name: str, **settings: Any) -> None:
        super().__init__(name, call_timeout=resource._client.timeout.read, **settings)
        self._resource = resource
        self.lost = asyncio.Event()
        """Set when the hold can no longer be trusted."""
        self._keeper: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._body: asyncio.Task[Any] | None = None
        self._cancelled_body = False
        self._renewing = asyncio.Lock()

    async def __aenter__(self) -> AsyncHeldLock:
        sent = now()
        response = await self._resource.acquire(
            self.name,
            self.owner,
            self.ttl,
            wait_timeout=self.wait_timeout,
            timeout=self._acquire_timeout(),
        )
        received = now()
        self._granted(response.lock, sent)
        if self.timing.late(sent, received):
            await self._confirm(received)
        self._body = asyncio.current_task()
        self._arm()
        if self.auto_renew:
            self._keeper = asyncio.create_task(self._keep())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._body = None
        await self._halt()
        if not self.released and not self._gone:
            failure = await asyncio.shield(self._release_within_budget())
            if failure is not None and is_gone(failure):
                self._signal("the release found it gone", failure, gone=True)
            elif failure is not None:
                logger.warning("releasing lock %s failed (it lapses): %s", self.name, failure)
        ours = isinstance(exc, asyncio.CancelledError) and self._cancelled_body
        if ours and not _still_cancelled():
            exc = None  # the hold cancelled the block: the lost error replaces the cancellation
        lost = self._exit_error(exc)
        if lost is not None:
            raise lost

    async def renew(self, ttl: timedelta | None = None) -> Lock:
        """Extend the hold now (by `ttl`, else the hold's TTL); returns the new grant."""
        async with self._renewing:
            sent = now()
            response = await self._resource.renew(
                self.name, self.owner, self.fencing_token, ttl or self.ttl
            )
            self._granted(response.lock, sent, ttl)
            self._arm()
        return self.lock

    async def release(self) -> None:
        """Release now; raises what fails (`LockLostError` when the lock was already gone)."""
        await self._halt()
        if self.released or self._lock is None:
            return
        failure = await self._release_within_budget()
        if failure is None:
            return
        if is_gone(failure):
            self._lose("the release found it gone", failure, gone=True)
            self.check()
        raise failure

    # ------------------------------------------------------------------ background

    async def _keep(self) -> None:
        """Renews at the schedule of §1.3 until cancelled or lost."""
        while True:
            await asyncio.sleep(max(0.0, self._next_renewal - now()))
            remaining = self._remaining()
            if remaining <= 0:
                return  # the deadline timer declares the loss
            try:
                async with self._renewing:
                    await self._renew_bounded(remaining)
            except (ConcordError, asyncio.TimeoutError) as error:
                if isinstance(error, ConcordError) and not is_transient(error):
                    self._signal("a renewal was refused", error, gone=is_gone(error))
                    return
                logger.info("renewing lock %s failed, retrying: %s", self.name, error)
                self._last_error = error
                self._next_renewal = now() + self._retry_pause(error)

    async def _renew_bounded(self, remaining: float) -> None:
        """One renewal attempt, without SDK retries, ended at the deadline at the latest."""
        sent = now()
        call = self._resource.renew(
            self.name,
            self.owner,
            self.fencing_token,
            self.ttl,
            timeout=min(self._call_timeout, remaining),
            max_retries=0,
        )
        response = await asyncio.wait_for(call, remaining)
        self._granted(response.lock, sent)
        self._arm()

    async def _confirm(self, received: float) -> None:
        """Renews a late grant before the hold is handed out (§1.2); LockLostError if it fails."""
        self._deadline = received + self.timing.ttl - self.timing.margin
        while True:
            remaining = self._remaining()
            try:
                if remaining <= 0:
                    raise asyncio.TimeoutError("no renewal succeeded in time")
                await self._renew_bounded(remaining)
                return
            except (ConcordError, asyncio.TimeoutError) as error:
                transient = not isinstance(error, ConcordError) or is_transient(error)
                if transient and self._remaining() > 0:
                    await asyncio.sleep(self._retry_pause(error))
                    continue
                self._lose("a late grant could not be confirmed", error, gone=is_gone(error))
                await self._release_within_budget()
                self.check()

    def _arm(self) -> None:
        """(Re)schedules the deadline callback."""
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, self._remaining()), self._on_deadline)

    def _on_deadline(self) -> None:
        if self._remaining() > 0:
            return  # a renewal moved the deadline (and re-armed the timer)
        self._signal("no renewal succeeded before the lease's safety deadline", self._last_error)

    def _signal(self, reason: str, cause: BaseException | None, gone: bool = False) -> None:
        """Records the loss, sets `lost`, stops renewing and cancels the running block."""
        if not self._lose(reason, cause, gone):
            return
        self.lost.set()
        if self._timer is not None:
            self._timer.cancel()
        current = asyncio.current_task()
        if self._keeper is not None and self._keeper is not current:
            self._keeper.cancel()
        if self._body is not None and not self._body.done():
            self._cancelled_body = True
            self._body.cancel()

    async def _halt(self) -> None:
        """Stops renewals (cancelling one in flight) and the deadline timer."""
        if self._timer is not None:
            self._timer.cancel()
        keeper, self._keeper = self._keeper, None
        if keeper is not None and keeper is not asyncio.current_task():
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _release_within_budget(self) -> BaseException | None:
        """ReleaseLock with one idempotency key, retried as the client retries (its `max_retries`
        and backoff) within RELEASE_BUDGET; the failure."""
        self.released = True
        key, budget_end, attempt = str(uuid.uuid4()), now() + RELEASE_BUDGET, 0
        while True:
            remaining = max(budget_end - now(), 0.1)
            call = self._resource.release(
                self.name,
                self.owner,
                self.fencing_token,
                idempotency_key=key,
                timeout=remaining,
                max_retries=0,
            )
            try:
                await asyncio.wait_for(call, remaining)
                return None
            except (ConcordError, asyncio.TimeoutError) as error:
                retries = self._resource._client.max_retries
                pause = release_pause(attempt, retries, budget_end - now())
                transient = not isinstance(error, ConcordError) or is_transient(error)
                if not transient or pause is None:
                    return error
                await asyncio.sleep(pause)
                attempt += 1


def _still_cancelled() -> bool:
    """After the hold cancelled the block: whether someone else cancelled the task as well
    (Python 3.11+ counts cancellations; 3.10 cannot tell, and treats it as ours alone)."""
    task = asyncio.current_task()
    if task is None or sys.version_info < (3, 11):
        return False
    return task.uncancel() > 0
