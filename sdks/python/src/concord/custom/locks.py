"""`client.locks.hold(...)`: a lock held for the length of a `with` block (hand-written)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import uuid
from datetime import timedelta
from types import TracebackType

from concord._core.options import NOT_GIVEN, NotGiven
from concord.errors import ConcordError
from concord.models import Lock
from concord.resources.locks import AsyncLocksResource as GeneratedAsyncLocksResource
from concord.resources.locks import LocksResource as GeneratedLocksResource

__all__ = [
    "AsyncHeldLock",
    "AsyncLocksResource",
    "HeldLock",
    "LockLostError",
    "LocksResource",
    "default_owner",
]

logger = logging.getLogger("concord")
DEFAULT_TTL = timedelta(seconds=30)
# Extra seconds a call may take beyond the server-side wait it asked for.
WAIT_MARGIN = 10.0


class LockLostError(ConcordError):
    """Background renewal failed: the lock may have passed to another owner."""


def default_owner() -> str:
    """A unique owner identity: host, process id and a random suffix."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _call_timeout(wait_timeout: timedelta | None) -> float | NotGiven:
    """A call timeout that outlasts the server-side wait."""
    return NOT_GIVEN if wait_timeout is None else wait_timeout.total_seconds() + WAIT_MARGIN


class _HoldBase:
    """What the sync and async holds share: the latest grant and its renewal interval."""

    def __init__(
        self,
        name: str,
        *,
        owner: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        wait_timeout: timedelta | None = None,
        auto_renew: bool = False,
    ) -> None:
        self.name = name
        self.owner = owner or default_owner()
        self.ttl = ttl
        self.wait_timeout = wait_timeout
        self.auto_renew = auto_renew
        self.renew_error: BaseException | None = None
        self.released = False
        self._lock: Lock | None = None

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
    def renew_interval(self) -> float:
        """Seconds between background renewals: a third of the TTL."""
        return max(self.ttl.total_seconds() / 3, 0.01)

    def _raise_on_exit(self, error: ConcordError, body_failed: bool) -> bool:
        """Whether a release error should surface (not when the block already raised)."""
        if body_failed:
            logger.warning("releasing lock %s failed: %s", self.name, error)
            return False
        return True


class HeldLock(_HoldBase):
    """`with client.locks.hold("jobs", ttl=...) as lock:` acquires, then releases on exit.

    With `auto_renew=True` a daemon thread renews the lock every third of its TTL while the
    block runs; a failed renewal is kept in `renew_error` and raised as `LockLostError` on exit.
    """

    def __init__(
        self,
        resource: GeneratedLocksResource,
        name: str,
        *,
        owner: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        wait_timeout: timedelta | None = None,
        auto_renew: bool = False,
    ) -> None:
        super().__init__(
            name, owner=owner, ttl=ttl, wait_timeout=wait_timeout, auto_renew=auto_renew
        )
        self._resource = resource
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> HeldLock:
        response = self._resource.acquire(
            self.name,
            self.owner,
            self.ttl,
            wait_timeout=self.wait_timeout,
            timeout=_call_timeout(self.wait_timeout),
        )
        self._lock = response.lock
        if self.auto_renew:
            self._thread = threading.Thread(target=self._renew_loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.release()
        except ConcordError as error:
            if self._raise_on_exit(error, exc is not None):
                raise
        if self.renew_error is not None and exc is None:
            raise LockLostError(f"renewing lock {self.name} failed: {self.renew_error}")

    def renew(self, ttl: timedelta | None = None) -> Lock:
        """Extend the hold (by `ttl`, else the original TTL); returns the new grant."""
        lock = self.lock
        response = self._resource.renew(self.name, self.owner, lock.fencing_token, ttl or self.ttl)
        self._lock = response.lock or lock
        return self._lock

    def release(self) -> None:
        """Release now (the `with` exit then does nothing more)."""
        if self.released or self._lock is None:
            return
        self.released = True
        self._resource.release(self.name, self.owner, self._lock.fencing_token)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.renew_interval):
            try:
                self.renew()
            except ConcordError as error:
                logger.warning("renewing lock %s failed: %s", self.name, error)
                self.renew_error = error
                return


class AsyncHeldLock(_HoldBase):
    """`async with client.locks.hold(...) as lock:`; auto-renewal runs as an asyncio task."""

    def __init__(
        self,
        resource: GeneratedAsyncLocksResource,
        name: str,
        *,
        owner: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        wait_timeout: timedelta | None = None,
        auto_renew: bool = False,
    ) -> None:
        super().__init__(
            name, owner=owner, ttl=ttl, wait_timeout=wait_timeout, auto_renew=auto_renew
        )
        self._resource = resource
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsyncHeldLock:
        response = await self._resource.acquire(
            self.name,
            self.owner,
            self.ttl,
            wait_timeout=self.wait_timeout,
            timeout=_call_timeout(self.wait_timeout),
        )
        self._lock = response.lock
        if self.auto_renew:
            self._task = asyncio.create_task(self._renew_loop())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.release()
        except ConcordError as error:
            if self._raise_on_exit(error, exc is not None):
                raise
        if self.renew_error is not None and exc is None:
            raise LockLostError(f"renewing lock {self.name} failed: {self.renew_error}")

    async def renew(self, ttl: timedelta | None = None) -> Lock:
        """Extend the hold (by `ttl`, else the original TTL); returns the new grant."""
        lock = self.lock
        response = await self._resource.renew(
            self.name, self.owner, lock.fencing_token, ttl or self.ttl
        )
        self._lock = response.lock or lock
        return self._lock

    async def release(self) -> None:
        """Release now (the `async with` exit then does nothing more)."""
        if self.released or self._lock is None:
            return
        self.released = True
        await self._resource.release(self.name, self.owner, self._lock.fencing_token)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.renew_interval)
            try:
                await self.renew()
            except ConcordError as error:
                logger.warning("renewing lock %s failed: %s", self.name, error)
                self.renew_error = error
                return


class LocksResource(GeneratedLocksResource):
    """`client.locks`: the generated calls plus `hold()`."""

    def hold(
        self,
        name: str,
        *,
        owner: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        wait_timeout: timedelta | None = None,
        auto_renew: bool = False,
    ) -> HeldLock:
        """A context manager that holds lock `name`: acquired on entry, released on exit."""
        return HeldLock(
            self, name, owner=owner, ttl=ttl, wait_timeout=wait_timeout, auto_renew=auto_renew
        )


class AsyncLocksResource(GeneratedAsyncLocksResource):
    """`client.locks` of `AsyncConcord`: the generated calls plus `hold()`."""

    def hold(
        self,
        name: str,
        *,
        owner: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        wait_timeout: timedelta | None = None,
        auto_renew: bool = False,
    ) -> AsyncHeldLock:
        """An async context manager that holds lock `name` for the block."""
        return AsyncHeldLock(
            self, name, owner=owner, ttl=ttl, wait_timeout=wait_timeout, auto_renew=auto_renew
        )
