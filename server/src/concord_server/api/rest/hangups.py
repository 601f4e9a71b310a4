"""A unary call over HTTP ends early when its client hangs up: the call is cancelled as gRPC
cancels a handler. Most calls end within WATCH_AFTER_SECONDS and are never watched; one timer
per event loop starts the watch of those that run longer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.types import Receive

from concord_server.api.rest.event_stream import until_disconnect

T = TypeVar("T")
WATCH_AFTER_SECONDS = 0.05  # how long a call runs before its client's hang-up is watched for


class _Watchdog:
    """The running calls of one event loop, in the order they started (so by due time), and
    the one timer that starts the watch of each call once it is due."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._due: dict[object, tuple[float, Callable[[], None]]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, call: object, start_watching: Callable[[], None]) -> None:
        """Calls `start_watching` once `call` has run for WATCH_AFTER_SECONDS, unless discarded."""
        self._due[call] = (self.loop.time() + WATCH_AFTER_SECONDS, start_watching)
        if self._timer is None:
            self._timer = self.loop.call_later(WATCH_AFTER_SECONDS, self._sweep)

    def discard(self, call: object) -> None:
        """Forgets a call that ended."""
        self._due.pop(call, None)

    def _sweep(self) -> None:
        """Starts every due watch; the timer then waits for the next call to be due."""
        self._timer = None
        now = self.loop.time()
        while self._due:
            call, (due, start_watching) = next(iter(self._due.items()))
            if due > now:
                self._timer = self.loop.call_at(due, self._sweep)
                return
            del self._due[call]
            start_watching()


_watchdog: _Watchdog | None = None  # the last loop's: a server has one loop per process


def _watchdog_of(loop: asyncio.AbstractEventLoop) -> _Watchdog:
    """The watchdog of `loop` (a new one when another loop ran calls last)."""
    global _watchdog
    watchdog = _watchdog
    if watchdog is None or watchdog.loop is not loop:
        watchdog = _watchdog = _Watchdog(loop)
    return watchdog


async def unless_disconnected(receive: Receive, call: Awaitable[T]) -> T | None:
    """The call's answer, or None when the client goes away first: then the call is cancelled
    (its clean-up runs before this returns), so that a waiter who left gives up its place in
    line instead of taking the lock for nobody. The call runs in this task; the watch for the
    disconnect is a task of its own, started once the call has run for WATCH_AFTER_SECONDS."""
    current = asyncio.current_task()
    assert current is not None
    gone = False
    watcher: asyncio.Future[None] | None = None

    async def watch() -> None:
        nonlocal gone
        await until_disconnect(receive)
        gone = True
        current.cancel()

    def start_watching() -> None:
        nonlocal watcher
        watcher = asyncio.ensure_future(watch())

    watchdog = _watchdog_of(current.get_loop())
    watchdog.add(current, start_watching)
    try:
        return await call
    except asyncio.CancelledError:
        if not gone:
            raise
        current.uncancel()
        return None
    finally:
        watchdog.discard(current)
        if watcher is not None:
            watcher.cancel()
