"""Event store rules: append checks, paged reads, and catch-up-then-live subscriptions."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from concord_server import page_tokens
from concord_server.clock import Clock
from concord_server.errors import ConcordError, ErrorCode, invalid_argument
from concord_server.ports.events import (
    AppendResult,
    Direction,
    EventLog,
    Expectation,
    LogChange,
    NewEvent,
    RecordedEvent,
    StreamState,
)
from concord_server.pubsub import SlowConsumerError, Subscription
from concord_server.streams import OpenStream
from concord_server.telemetry import metrics

log = logging.getLogger("concord.events")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
CATCH_UP_BATCH = 500
WAKEUP_QUEUE_LIMIT = 1000


@dataclass(frozen=True)
class CaughtUp:
    """The marker between a subscription's catch-up and its live part."""


CAUGHT_UP = CaughtUp()
SubscriptionItem = RecordedEvent | CaughtUp


@dataclass(frozen=True)
class Page:
    """One page of a read and the token of the next (empty on the last page)."""

    events: list[RecordedEvent]
    next_page_token: str


class EventService:
    """The event store's use cases over one `EventLog`."""

    def __init__(
        self, store: EventLog, clock: Clock, wakeup_queue_limit: int = WAKEUP_QUEUE_LIMIT
    ) -> None:
        self._store = store
        self._clock = clock
        self._queue_limit = wakeup_queue_limit
        self._poller: asyncio.Task[None] | None = None

    async def append(
        self, stream: str, events: Sequence[NewEvent], expected: Expectation
    ) -> AppendResult:
        """Appends a batch atomically; a retried batch answers the original result."""
        if not events:
            raise invalid_argument("at least one event is required", "events")
        normalized = [_lower_id(e) for e in events]
        seen: set[str] = set()
        for event in normalized:
            if event.event_id in seen:
                raise invalid_argument(
                    f"event id {event.event_id} appears twice in the batch", "events.event_id"
                )
            seen.add(event.event_id)
        started = time.perf_counter()
        result = await self._store.append(stream, normalized, expected, self._clock.now())
        metrics.EVENT_APPEND_SECONDS.observe(time.perf_counter() - started)
        metrics.EVENT_APPENDS.inc()
        metrics.EVENTS_APPENDED.inc(len(normalized))
        return result

    async def read_stream(
        self,
        stream: str,
        direction: Direction,
        from_revision: int | None,
        page_size: int,
        page_token: str,
    ) -> Page:
        """A page of a live stream's events; NOT_FOUND when it does not exist or was deleted."""
        limit = page_limit(page_size)
        scope = f"stream:{stream}"
        start = decode_token(page_token, scope, direction) if page_token else from_revision
        events = await self._store.read_stream(stream, direction, start, limit + 1)
        if events is None:
            raise stream_not_found(stream)
        return _page(events, limit, scope, direction, lambda e: e.revision)

    async def read_all(
        self, direction: Direction, from_position: int | None, page_size: int, page_token: str
    ) -> Page:
        """A page of the global log."""
        limit = page_limit(page_size)
        start = decode_token(page_token, "all", direction) if page_token else from_position
        events = await self._store.read_all(direction, start, limit + 1)
        return _page(events, limit, "all", direction, lambda e: e.position)

    async def metadata(self, stream: str) -> StreamState:
        """The stream's state; NOT_FOUND when it was never appended to nor given metadata."""
        state = await self._store.stream_state(stream)
        if state is None:
            raise stream_not_found(stream)
        return state

    async def set_metadata(self, stream: str, custom: Mapping[str, Any]) -> StreamState:
        """Replaces the stream's custom metadata."""
        return await self._store.set_custom(stream, custom, self._clock.now())

    async def delete(self, stream: str, expected_revision: int | None) -> StreamState:
        """Soft-deletes a stream: reads answer NOT_FOUND, the global log keeps its events."""
        return await self._store.delete(stream, expected_revision)

    async def subscribe_all(
        self, from_position: int | None, stream_prefix: str = ""
    ) -> OpenStream[SubscriptionItem]:
        """Events of the global log from a position (None: from now), then live, in order.

        Subscribed, and "now" fixed, when this returns: no later append is missed.
        """
        wakeups = self._wakeups(lambda _change: True, "all")
        try:
            await self._store.listen()
            head = await self._store.head_position()
        except BaseException:
            wakeups.close()
            raise
        items = self._follow_all(wakeups, head, from_position, stream_prefix)
        return OpenStream(items, wakeups.close, head if from_position is None else None)

    async def _follow_all(
        self, wakeups: Wakeups, head: int, from_position: int | None, stream_prefix: str
    ) -> AsyncGenerator[SubscriptionItem, None]:
        try:
            cursor = head if from_position is None else max(0, from_position - 1)
            async for event in self._log_between(cursor, head, stream_prefix):
                yield event
            cursor = max(cursor, head)
            yield CAUGHT_UP
            while True:
                change = await wakeups.next()
                if change is not None and change.position <= cursor:
                    continue
                head = await self._store.head_position()
                async for event in self._log_between(cursor, head, stream_prefix):
                    self._observe_lag(event)
                    yield event
                cursor = max(cursor, head)
        finally:
            wakeups.close()

    async def subscribe_stream(
        self, stream: str, from_revision: int | None
    ) -> OpenStream[SubscriptionItem]:
        """A stream's events from a revision (None: from now), then live, in order.

        Subscribed, and "now" fixed, when this returns: no later append is missed.
        """
        wakeups = self._wakeups(lambda change: change.stream in ("", stream), "stream")
        try:
            await self._store.listen()
            if from_revision is None:
                state = await self._store.stream_state(stream)
                cursor = state.current_revision if state is not None else -1
            else:
                cursor = from_revision - 1
        except BaseException:
            wakeups.close()
            raise
        resume_after = cursor if from_revision is None else None
        return OpenStream(self._follow_stream(wakeups, stream, cursor), wakeups.close, resume_after)

    async def _follow_stream(
        self, wakeups: Wakeups, stream: str, cursor: int
    ) -> AsyncGenerator[SubscriptionItem, None]:
        try:
            seen_position = 0
            async for event in self._stream_after(stream, cursor):
                cursor, seen_position = event.revision, event.position
                yield event
            yield CAUGHT_UP
            while True:
                change = await wakeups.next()
                if change is not None and change.position <= seen_position:
                    continue
                async for event in self._stream_after(stream, cursor):
                    cursor, seen_position = event.revision, event.position
                    self._observe_lag(event)
                    yield event
        finally:
            wakeups.close()

    async def stop(self) -> None:
        """Stops the head poller."""
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    async def _log_between(
        self, after: int, up_to: int, stream_prefix: str
    ) -> AsyncIterator[RecordedEvent]:
        while after < up_to:
            batch = await self._store.read_all(
                Direction.FORWARD, after + 1, CATCH_UP_BATCH, stream_prefix, up_to
            )
            for event in batch:
                yield event
            if len(batch) < CATCH_UP_BATCH:
                return
            after = batch[-1].position

    async def _stream_after(self, stream: str, after: int) -> AsyncIterator[RecordedEvent]:
        while True:
            batch = await self._store.read_stream(
                stream, Direction.FORWARD, after + 1, CATCH_UP_BATCH
            )
            for event in batch or []:
                yield event
            if batch is None or len(batch) < CATCH_UP_BATCH:
                return
            after = batch[-1].revision

    def _observe_lag(self, event: RecordedEvent) -> None:
        """How long a live event took from its append to this subscriber."""
        lag = (self._clock.now() - event.recorded_at).total_seconds()
        metrics.EVENT_SUBSCRIPTION_LAG.observe(max(lag, 0.0))

    def _wakeups(self, match: Callable[[LogChange], bool], scope: str) -> Wakeups:
        wakeups = Wakeups(self._store, match, self._queue_limit, scope)
        interval = self._store.poll_interval
        if interval is not None and (self._poller is None or self._poller.done()):
            self._poller = asyncio.create_task(self._poll_head(interval))
        return wakeups

    async def _poll_head(self, interval: float) -> None:
        """Publishes head advances the engine did not announce, while anyone subscribes."""
        last = -1
        while self._store.changes.subscriber_count > 0:
            try:
                await self._store.listen()
                head = await self._store.head_position()
            except Exception as exc:  # the engine may be down for a while; keep polling
                log.warning("event log poll failed: %s", exc)
            else:
                if head > last:
                    self._store.changes.publish(LogChange(head))
                    last = head
            # real time on purpose: polling is transport timing, not domain time
            await asyncio.sleep(interval)


class Wakeups:
    """A subscriber's hints of log growth; after an overflow it resubscribes and says so."""

    def __init__(
        self, store: EventLog, match: Callable[[LogChange], bool], limit: int, scope: str
    ) -> None:
        self._store = store
        self._match = match
        self._limit = limit
        self._sub: Subscription[LogChange] = store.changes.subscribe(match, limit)
        self._gauge = metrics.EVENT_SUBSCRIPTIONS.labels(scope)
        self._gauge.inc()
        self._open = True

    async def next(self) -> LogChange | None:
        """The next hint; None when hints were dropped and the reader must look anyway."""
        try:
            return await self._sub.get()
        except SlowConsumerError:
            self._sub = self._store.changes.subscribe(self._match, self._limit)
            return None

    def close(self) -> None:
        """Stops receiving hints (and counting as a subscription; closing twice is fine)."""
        self._sub.close()
        if self._open:
            self._open = False
            self._gauge.dec()


def page_limit(page_size: int) -> int:
    """The page size rule: 0 means the default, at most the maximum."""
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise invalid_argument(f"page_size must be 0..{MAX_PAGE_SIZE}", "page_size")
    return page_size or DEFAULT_PAGE_SIZE


def encode_token(scope: str, direction: Direction, start: int) -> str:
    """An opaque page token naming where the next page starts."""
    return page_tokens.seal(f"events|{scope}|{direction.value}", {"n": start})


def decode_token(token: str, scope: str, direction: Direction) -> int:
    """The start of the page a token names; INVALID_ARGUMENT when it is not for this read."""
    position = page_tokens.unseal(f"events|{scope}|{direction.value}", token)
    return int(page_tokens.member(position, "n", int))


def stream_not_found(stream: str) -> ConcordError:
    """NOT_FOUND for a stream."""
    return ConcordError(ErrorCode.NOT_FOUND, f"stream {stream!r} not found", {"resource": "stream"})


def _page(
    events: list[RecordedEvent],
    limit: int,
    scope: str,
    direction: Direction,
    key: Callable[[RecordedEvent], int],
) -> Page:
    if len(events) <= limit:
        return Page(events, "")
    return Page(events[:limit], encode_token(scope, direction, key(events[limit])))


def _lower_id(event: NewEvent) -> NewEvent:
    """The event with its id in lower case (the same event when it is already)."""
    lowered = event.event_id.lower()
    return event if lowered == event.event_id else replace(event, event_id=lowered)
