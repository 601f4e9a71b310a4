"""`with client.locks.hold(...) as lock:` (hand-written), to docs/sdk-helpers.md §1.

A daemon thread renews the lease every ttl/3; a timer fires the lost signal at the local
deadline, so a renewal call that hangs cannot delay it. Python threads cannot be interrupted:
the block observes `lock.lost` (a `threading.Event`) or calls `lock.check()`.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from types import TracebackType
from typing import Any

import httpx

from concord._core.errors_base import ConcordError
from concord.custom._holdbase import HoldBase, logger
from concord.custom._lease import RELEASE_BUDGET, is_gone, is_transient, now, release_pause
from concord.models import Lock
from concord.resources.locks import LocksResource


class HeldLock(HoldBase):
    """A lock held for a `with` block: acquired on entry, renewed (unless `auto_renew=False`),
    released on exit. Exit raises `LockLostError` when the hold was lost during the block."""

    def __init__(self, resource: LocksResource, name: str, **settings: Any) -> None:
        super().__init__(name, call_timeout=resource._client.timeout.read, **settings)
        self._resource = resource
        self.lost = threading.Event()
        """Set (once, from a background thread) when the hold can no longer be trusted."""
        self._stop = threading.Event()
        self._renewing = threading.Lock()
        self._timer: threading.Timer | None = None

    def __enter__(self) -> HeldLock:
        sent = now()
        response = self._resource.acquire(
            self.name,
            self.owner,
            self.ttl,
            wait_timeout=self.wait_timeout,
            timeout=self._acquire_timeout(),
        )
        received = now()
        self._granted(response.lock, sent)
        if self.timing.late(sent, received):
            self._confirm(received)
        self._arm()
        if self.auto_renew:
            name = f"concord-hold-{self.name}"
            threading.Thread(target=self._keep, name=name, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._halt()
        if not self.released and not self._gone:
            failure = self._release_within_budget()
            if failure is not None and is_gone(failure):
                self._signal("the release found it gone", failure, gone=True)
            elif failure is not None:
                logger.warning("releasing lock %s failed (it lapses): %s", self.name, failure)
        lost = self._exit_error(exc)
        if lost is not None:
            raise lost

    def renew(self, ttl: timedelta | None = None) -> Lock:
        """Extend the hold now (by `ttl`, else the hold's TTL); returns the new grant."""
        with self._renewing:
            sent = now()
            response = self._resource.renew(
                self.name, self.owner, self.fencing_token, ttl or self.ttl
            )
            self._granted(response.lock, sent, ttl)
            self._arm()
        return self.lock

    def release(self) -> None:
        """Release now; raises what fails (`LockLostError` when the lock was already gone).
        The `with` exit then releases nothing more."""
        self._halt()
        if self.released or self._lock is None:
            return
        failure = self._release_within_budget()
        if failure is None:
            return
        if is_gone(failure):
            self._lose("the release found it gone", failure, gone=True)
            self.check()
        raise failure

    # ------------------------------------------------------------------ background

    def _keep(self) -> None:
        """Renews at the schedule of §1.3 until the hold ends or is lost."""
        while not self._stop.wait(max(0.0, self._next_renewal - now())):
            remaining = self._remaining()
            if remaining <= 0:
                return  # the deadline timer declares the loss
            try:
                with self._renewing:
                    if self._stop.is_set():
                        return
                    self._renew_bounded(remaining)
            except ConcordError as error:
                if self._stop.is_set():
                    return
                if not is_transient(error):
                    self._signal("a renewal was refused", error, gone=is_gone(error))
                    return
                logger.info("renewing lock %s failed, retrying: %s", self.name, error)
                self._last_error = error
                self._next_renewal = now() + self._retry_pause(error)

    def _renew_bounded(self, remaining: float) -> None:
        """One renewal attempt, without SDK retries, that cannot outlive the lease."""
        sent = now()
        timeout = httpx.Timeout(min(self._call_timeout, remaining))
        response = self._resource.renew(
            self.name, self.owner, self.fencing_token, self.ttl, timeout=timeout, max_retries=0
        )
        self._granted(response.lock, sent)
        self._arm()

    def _confirm(self, received: float) -> None:
        """Renews a late grant before the hold is handed out (§1.2); LockLostError if it fails."""
        self._deadline = received + self.timing.ttl - self.timing.margin
        while True:
            remaining = self._remaining()
            try:
                if remaining <= 0:
                    raise TimeoutError("no renewal succeeded in time")
                self._renew_bounded(remaining)
                return
            except (ConcordError, TimeoutError) as error:
                if isinstance(error, ConcordError) and is_transient(error) and remaining > 0:
                    time.sleep(self._retry_pause(error))
                    continue
                self._lose("a late grant could not be confirmed", error, gone=is_gone(error))
                self._release_within_budget()
                self.released = True
                self.check()

    def _arm(self) -> None:
        """(Re)starts the timer that fires at the local deadline."""
        with self._mu:
            if self._timer is not None:
                self._timer.cancel()
            if self._stop.is_set():
                return
            self._timer = threading.Timer(max(0.0, self._remaining()), self._on_deadline)
            self._timer.daemon = True
            self._timer.start()

    def _on_deadline(self) -> None:
        if self._stop.is_set() or self._remaining() > 0:
            return  # ended, or a renewal moved the deadline (and re-armed the timer)
        self._signal("no renewal succeeded before the lease's safety deadline", self._last_error)

    def _signal(self, reason: str, cause: BaseException | None, gone: bool = False) -> None:
        if self._lose(reason, cause, gone):
            self._stop.set()
            self.lost.set()

    def _halt(self) -> None:
        """Stops renewals and the deadline timer (an in-flight renewal is left to finish)."""
        self._stop.set()
        with self._mu:
            if self._timer is not None:
                self._timer.cancel()

    def _release_within_budget(self) -> BaseException | None:
        """ReleaseLock with one idempotency key, retried as the client retries (its `max_retries`
        and backoff) within RELEASE_BUDGET; the failure."""
        self.released = True
        key, budget_end, attempt = str(uuid.uuid4()), now() + RELEASE_BUDGET, 0
        while True:
            remaining = budget_end - now()
            try:
                self._resource.release(
                    self.name,
                    self.owner,
                    self.fencing_token,
                    idempotency_key=key,
                    timeout=httpx.Timeout(max(remaining, 0.1)),
                    max_retries=0,
                )
                return None
            except ConcordError as error:
                pause = release_pause(attempt, self._resource._client.max_retries, remaining)
                if not is_transient(error) or pause is None:
                    return error
                time.sleep(pause)
                attempt += 1
