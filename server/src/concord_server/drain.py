"""Graceful shutdown: once draining, readiness fails and open server streams end.

A stream's client is told `UNAVAILABLE` (`reason: shutting_down`), which every SDK retries, so it
reconnects (to another instance behind the load balancer) and resumes from its cursor. Unary calls
in flight are not touched: the HTTP and gRPC servers let them finish within the grace period.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

from concord_server.errors import ConcordError, ErrorCode

T = TypeVar("T")
SHUTTING_DOWN = "the server is shutting down; reconnect to continue the stream"


class Drain:
    """The shutdown signal shared by the dispatcher, the health service and the entry point."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._open = 0
        self._none_open = asyncio.Event()
        self._none_open.set()

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
        return ConcordError(ErrorCode.UNAVAILABLE, SHUTTING_DOWN, {"reason": "shutting_down"})

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
            await _settle(item)
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
