"""In-process fan-out of change notifications, with bounded queues per subscriber."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

from concord_server.errors import ConcordError, ErrorCode

T = TypeVar("T")


class SlowConsumerError(ConcordError):
    """A subscriber fell more than its queue size behind and was disconnected."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            ErrorCode.UNAVAILABLE,
            f"subscriber fell more than {limit} messages behind and was disconnected",
            {"reason": "slow_consumer", "queue_limit": limit},
        )


class Subscription(Generic[T]):
    """One subscriber's bounded queue; iterate it to receive messages."""

    def __init__(self, hub: Broadcaster[T], match: Callable[[T], bool], limit: int) -> None:
        self._hub = hub
        self._match = match
        self._limit = limit
        self._queue: asyncio.Queue[object] = asyncio.Queue()  # bounded by `offer`
        self._overflowed = False
        self._closed = False

    def offer(self, item: T) -> None:
        """Queues an item if it matches; marks the subscriber slow when the queue is full."""
        if self._closed or not self._match(item):
            return
        if self._queue.qsize() >= self._limit:
            self._overflowed = True
            self.close()
            return
        self._queue.put_nowait(item)

    def close(self) -> None:
        """Stops delivery and wakes a waiting reader."""
        if not self._closed:
            self._closed = True
            self._hub.discard(self)
            self._queue.put_nowait(_STOP)

    async def get(self) -> T:
        """The next item; SlowConsumerError after an overflow, StopAsyncIteration at close."""
        item = await self._queue.get()
        if item is _STOP:
            self._queue.put_nowait(_STOP)  # later reads end too instead of waiting forever
            if self._overflowed:
                raise SlowConsumerError(self._limit)
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        return await self.get()

    async def __aenter__(self) -> Subscription[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


_STOP: object = object()


class Broadcaster(Generic[T]):
    """Publishes each item to every matching subscriber without ever blocking the publisher."""

    def __init__(self, default_limit: int = 1000) -> None:
        self._subs: set[Subscription[T]] = set()
        self._default_limit = default_limit

    def subscribe(
        self, match: Callable[[T], bool] | None = None, limit: int | None = None
    ) -> Subscription[T]:
        """A new subscription receiving the items `match` accepts (all by default)."""
        sub = Subscription(self, match or (lambda _item: True), limit or self._default_limit)
        self._subs.add(sub)
        return sub

    def publish(self, item: T) -> None:
        """Delivers an item to every subscriber (slow ones are disconnected)."""
        for sub in list(self._subs):
            sub.offer(item)

    def discard(self, sub: Subscription[T]) -> None:
        """Forgets a closed subscription."""
        self._subs.discard(sub)

    @property
    def subscriber_count(self) -> int:
        """How many subscribers are attached."""
        return len(self._subs)
