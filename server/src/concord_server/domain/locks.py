"""Lock rules: grants with fencing tokens, waiting in line, paging, watching, expiry sweeps."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from concord_server import page_tokens
from concord_server.clock import Clock
from concord_server.errors import ConcordError, ErrorCode, not_found
from concord_server.periodic import Periodic
from concord_server.ports.locks import (
    Conflict,
    LockEvent,
    LockEventType,
    LockRecord,
    LockStore,
    Refusal,
    RefusalReason,
)
from concord_server.pubsub import Subscription
from concord_server.streams import OpenStream
from concord_server.telemetry import metrics

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 50
_MIN_PAUSE = 0.005


def wire_time(dt: datetime) -> str:
    """An RFC 3339 UTC string with milliseconds, as error details carry times."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_page_token(prefix: str, last_name: str) -> str:
    """The opaque token of the page after `last_name` in the listing of `prefix`."""
    return page_tokens.seal(f"locks|{prefix}", {"a": last_name})


def decode_page_token(prefix: str, token: str) -> str:
    """The last name of the previous page, or INVALID_ARGUMENT for a token we did not issue."""
    return str(page_tokens.member(page_tokens.unseal(f"locks|{prefix}", token), "a", str))


def _conflict_error(conflict: Conflict) -> ConcordError:
    return ConcordError(
        ErrorCode.LOCK_CONFLICT,
        f"lock {conflict.name!r} is held by another owner",
        {"name": conflict.name, "expires_at": wire_time(conflict.expires_at)},
    )


def _refusal_error(name: str, refusal: Refusal) -> ConcordError:
    if refusal.reason is RefusalReason.EXPIRED and refusal.expired_at is not None:
        return ConcordError(
            ErrorCode.LOCK_EXPIRED,
            f"the grant of lock {name!r} expired before this call",
            {"name": name, "expired_at": wire_time(refusal.expired_at)},
        )
    return ConcordError(
        ErrorCode.LOCK_NOT_HELD,
        f"lock {name!r} is not held by this owner and fencing token",
        {"name": name},
    )


@dataclass(frozen=True)
class LockPage:
    """One page of a listing and the token of the next (empty on the last page)."""

    locks: list[LockRecord]
    next_page_token: str


class _WaitingLines:
    """One FIFO line per lock name for the waiters of this instance (asyncio.Lock is fair)."""

    def __init__(self) -> None:
        self._lines: dict[str, tuple[asyncio.Lock, int]] = {}

    def has_waiters(self, name: str) -> bool:
        """Whether anyone in this instance is waiting for `name`."""
        return name in self._lines

    @contextlib.asynccontextmanager
    async def turn(self, name: str, max_wait: float) -> AsyncIterator[None]:
        """Waits until the caller is first in line; raises TimeoutError after `max_wait` s."""
        line, users = self._lines.get(name, (asyncio.Lock(), 0))
        self._lines[name] = (line, users + 1)
        try:
            async with asyncio.timeout(max_wait):
                await line.acquire()
            try:
                yield
            finally:
                line.release()
        finally:
            line, users = self._lines[name]
            if users == 1:
                del self._lines[name]
            else:
                self._lines[name] = (line, users - 1)


class LockService:
    """The lock rules on top of any LockStore."""

    def __init__(
        self,
        store: LockStore,
        clock: Clock,
        *,
        poll_initial: float = 0.02,
        poll_max: float = 0.25,
    ) -> None:
        self._store = store
        self._clock = clock
        self._poll_initial = poll_initial
        self._poll_max = poll_max
        self._lines = _WaitingLines()

    async def acquire(
        self, name: str, owner: str, ttl: timedelta, wait_timeout: timedelta | None = None
    ) -> LockRecord:
        """Grants the lock, waiting in line up to `wait_timeout` when it is held by another."""
        waits = wait_timeout is not None and wait_timeout > timedelta(0)
        if not (waits and self._lines.has_waiters(name)):
            outcome = await self._store.try_acquire(name, owner, ttl)
            if isinstance(outcome, LockRecord):
                metrics.LOCK_GRANTS.labels("false").inc()
                return outcome
            if not waits:
                metrics.LOCK_CONFLICTS.inc()
                raise _conflict_error(outcome)
        assert wait_timeout is not None
        granted = await self._wait_in_line(name, owner, ttl, wait_timeout)
        metrics.LOCK_GRANTS.labels("true").inc()
        return granted

    async def _wait_in_line(
        self, name: str, owner: str, ttl: timedelta, wait_timeout: timedelta
    ) -> LockRecord:
        """Waits for the grant behind earlier waiters of this instance, up to `wait_timeout`."""
        deadline = self._clock.now() + wait_timeout
        metrics.LOCK_WAITS.inc()
        metrics.LOCK_WAITERS.inc()
        started = time.perf_counter()
        try:
            async with self._lines.turn(name, wait_timeout.total_seconds()):
                return await self._wait_for_grant(name, owner, ttl, deadline)
        except TimeoutError:
            holder = await self._store.get(name)
            expires_at = holder.expires_at if holder else self._clock.now()
            metrics.LOCK_CONFLICTS.inc()
            raise _conflict_error(Conflict(name, expires_at)) from None
        except ConcordError as err:
            if err.code is ErrorCode.LOCK_CONFLICT:
                metrics.LOCK_CONFLICTS.inc()
            raise
        finally:
            metrics.LOCK_WAITERS.dec()
            metrics.LOCK_WAIT_SECONDS.observe(time.perf_counter() - started)

    async def _wait_for_grant(
        self, name: str, owner: str, ttl: timedelta, deadline: datetime
    ) -> LockRecord:
        """Retries on every release or expiry notification, polling as a fallback."""
        subscription = await self._store.subscribe(
            lambda event: event.lock.name == name and event.type is not LockEventType.ACQUIRED
        )
        async with subscription:
            delay = self._poll_initial
            while True:
                outcome = await self._store.try_acquire(name, owner, ttl)
                if isinstance(outcome, LockRecord):
                    return outcome
                now = self._clock.now()
                remaining = (deadline - now).total_seconds()
                if remaining <= 0:
                    raise _conflict_error(outcome)
                until_free = (outcome.expires_at - now).total_seconds()
                await self._pause(subscription, max(_MIN_PAUSE, min(remaining, delay, until_free)))
                delay = min(delay * 2, self._poll_max)

    async def _pause(self, subscription: Subscription[LockEvent], seconds: float) -> None:
        """Returns after `seconds` of the clock or at the next notification, whichever is first."""
        notified = asyncio.ensure_future(subscription.get())
        slept = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait({notified, slept}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (notified, slept):
                task.cancel()
            await asyncio.gather(notified, slept, return_exceptions=True)

    async def renew(self, name: str, owner: str, fencing_token: int, ttl: timedelta) -> LockRecord:
        """Extends the holder's grant; LOCK_NOT_HELD or LOCK_EXPIRED otherwise."""
        outcome = await self._store.renew(name, owner, fencing_token, ttl)
        if isinstance(outcome, Refusal):
            raise _refusal_error(name, outcome)
        return outcome

    async def release(self, name: str, owner: str, fencing_token: int) -> LockRecord:
        """Ends the holder's grant; LOCK_NOT_HELD or LOCK_EXPIRED otherwise."""
        outcome = await self._store.release(name, owner, fencing_token)
        if isinstance(outcome, Refusal):
            raise _refusal_error(name, outcome)
        return outcome

    async def get(self, name: str) -> LockRecord:
        """The current holder; NOT_FOUND when the lock is free."""
        record = await self._store.get(name)
        if record is None:
            raise not_found("lock", name)
        return record

    async def list(self, prefix: str, page_size: int, page_token: str) -> LockPage:
        """Held locks by name prefix in name order, one page at a time."""
        limit = page_size or DEFAULT_PAGE_SIZE
        after = decode_page_token(prefix, page_token) if page_token else ""
        records = await self._store.list(prefix, after, limit + 1)
        if len(records) <= limit:
            return LockPage(records, "")
        page = records[:limit]
        return LockPage(page, encode_page_token(prefix, page[-1].name))

    async def watch(self, prefix: str) -> OpenStream[LockEvent]:
        """Lock events for names with `prefix` until the caller stops iterating.

        Subscribed when this returns: no change made afterwards is missed.
        """
        subscription = await self._store.subscribe(lambda event: event.lock.name.startswith(prefix))
        return OpenStream(_drain(subscription), subscription.close)


async def _drain(subscription: Subscription[LockEvent]) -> AsyncGenerator[LockEvent, None]:
    async with subscription:
        async for event in subscription:
            yield event


class LockComponent:
    """The lock store's lifecycle: a periodic sweep that reports expiries, and health checks."""

    name = "locks"

    def __init__(self, store: LockStore, backend: str, sweep_interval: float = 1.0) -> None:
        self.backend = backend
        self._store = store
        self._sweeper = Periodic("lock expiry sweep", sweep_interval, self.sweep_once)

    async def start(self) -> None:
        """Starts the expiry sweep."""
        self._sweeper.start()

    async def stop(self) -> None:
        """Stops the sweep and the store's listeners."""
        await self._sweeper.stop()
        await self._store.close()

    async def check(self) -> None:
        """Raises when the store does not answer."""
        await self._store.check()

    async def sweep_once(self, batch: int = 100) -> int:
        """Reports every expiry found now, in batches; returns how many."""
        total = 0
        while True:
            found = await self._store.sweep_expired(batch)
            total += found
            metrics.LOCK_EXPIRIES.inc(found)
            if found < batch:
                return total
