"""`client.locks.hold(...)`: a lock held for the length of a `with` block (hand-written).

The semantics are docs/sdk-helpers.md §1; `HeldLock` (threads) and `AsyncHeldLock` (asyncio)
implement them.
"""

from __future__ import annotations

from datetime import timedelta

from concord.custom._ahold import AsyncHeldLock
from concord.custom._hold import HeldLock
from concord.custom._lease import DEFAULT_TTL, LockLostError, default_owner
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


class LocksResource(GeneratedLocksResource):
    """`client.locks`: the generated calls plus `hold()`."""

    def hold(
        self,
        name: str,
        *,
        owner: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        wait_timeout: timedelta | None = None,
        auto_renew: bool = True,
    ) -> HeldLock:
        """A context manager that holds lock `name` for the block: acquired on entry (waiting
        in line up to `wait_timeout`), renewed every ttl/3 unless `auto_renew=False`, released
        on exit. `lock.lost` is set when the hold can no longer be trusted, and the exit then
        raises `LockLostError`."""
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
        auto_renew: bool = True,
    ) -> AsyncHeldLock:
        """An async context manager that holds lock `name` for the block; a lost hold cancels
        the block and the exit raises `LockLostError`."""
        return AsyncHeldLock(
            self, name, owner=owner, ttl=ttl, wait_timeout=wait_timeout, auto_renew=auto_renew
        )
