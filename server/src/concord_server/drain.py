"""Graceful shutdown: once draining, readiness fails and open server streams end.

A stream's client is told `UNAVAILABLE` (`reason: shutting_down`), a retryable code: it reopens
the stream (on another instance behind the load balancer) from its cursor, which the SDKs do by
themselves for subscriptions over SSE (docs/sdk-helpers.md §3). Unary calls
in flight get the grace period to finish; those still running then are cancelled and answer the
same `UNAVAILABLE` (their clean-up runs, so a lock waiter leaves the line), before the HTTP and
gRPC servers would cut them off without an answer of the contract's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, TypeVar

from concord_server.errors import ConcordError, ErrorCode

T = TypeVar("T")
SHUTTING_DOWN = "the server is shutting down; reconnect to continue the stream"
CALL_CUT = "the server is shutting down and did not finish this call in time; retry it"


def shutting_down() -> ConcordError:
    """The UNAVAILABLE (`reason: shutting_down`) that ends a stream when the server drains."""
    return ConcordError(ErrorCode.UNAVAILABLE, SHUTTING_DOWN, {"reason": "shutting_down"})


class Drain:
    """The shutdown signal shared by the dispatcher, the health service and the entry point."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._open = 0
        self._none_open = asyncio.Event()
        self._none_open.set()
        self._calls: set[asyncio.Task[Any]] = set()
        self._calls_cut = False

    def call_started(self) -> asyncio.Task[Any] | None:
        """Notes that the current task runs a unary call (see `cut_calls`)."""
        task = asyncio.current_task()
        if task is not None:
            self._calls.add(task)
        return task

    def call_ended(self, task: asyncio.Task[Any]) -> None:
        """The call `call_started` noted is over."""
        self._calls.discard(task)

    def cut_calls(self) -> int:
        """Cancels every unary call still running (the grace period is over); how many."""
        self._calls_cut = True
        for task in self._calls:
            task.cancel()
        return len(self._calls)

    def cut_error(self, task: asyncio.Task[Any]) -> ConcordError | None:
        """The UNAVAILABLE a call cancelled by `cut_calls` answers (the cancellation taken
        back), or None for a cancellation of another cause."""
        if not self._calls_cut or task not in self._calls:
            return None
        task.uncancel()
        return ConcordError(ErrorCode.UNAVAILABLE, CALL_CUT, {"reason": "shutting_down"})

    @property
    def draining(self) -> bool:
        """True once shutdown has begun."""
        return self._event.is_set()

    def start(self) -> None:
        """Begins draining (idempotent)."""
        self._event.set()

    async def streams_ended(self, within: float) -> bool:
        """Waits until no stream is open (at most `within` seconds); whether none is."""
        try:
            await asyncio.wait_for(self._none_open.wait(), within)
        except TimeoutError:
            return False
        return True

    def error(self) -> ConcordError:
        """What a stream ended by the drain raises."""
        return shutting_down()

    async def until_drained(self, source: AsyncIterator[T]) -> AsyncGenerator[T, None]:
        """The items of `source` until it ends or draining begins (then UNAVAILABLE)."""
        if self.draining:
            raise self.error()
        stop = asyncio.ensure_future(self._event.wait())
        item: asyncio.Future[T] | None = None
        self._open += 1
        self._none_open.clear()
        try:
            while True:
                item = asyncio.ensure_future(anext(source))
                done, _ = await asyncio.wait({item, stop}, return_when=asyncio.FIRST_COMPLETED)
                if item not in done:
                    raise self.error()
                try:
                    value = item.result()
                except StopAsyncIteration:
                    return
                item = None
                yield value
        finally:
            stop.cancel()
            try:
                await _settle(item)
            finally:  # also when cancelled again: an anyio scope (Starlette's, when a streaming
                # client leaves) cancels every await, those in `finally` blocks too
                self._open -= 1
                if self._open == 0:
                    self._none_open.set()


async def _settle(item: asyncio.Future[T] | None) -> None:
    """Cancels a pending read of the source and waits for it, so the source can be closed."""
    if item is None or item.done():
        return
    item.cancel()
    await asyncio.wait({item})
    if not item.cancelled():
        item.exception()  # retrieved: a failure while cancelling is not worth a warning
