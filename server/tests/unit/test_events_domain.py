"""Event store rules over the memory backend and a manual clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from concord_server.backends.memory.events import MemoryEventLog
from concord_server.clock import ManualClock
from concord_server.domain.events import (
    CAUGHT_UP,
    DEFAULT_PAGE_SIZE,
    EventService,
    SubscriptionItem,
    encode_token,
)
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.events import (
    Direction,
    Expectation,
    ExpectedState,
    LogChange,
    NewEvent,
    RecordedEvent,
)
from concord_server.pubsub import Broadcaster

ANY = Expectation()
FWD, BWD = Direction.FORWARD, Direction.BACKWARD


def ev(kind: str = "Happened", data: object = None) -> NewEvent:
    return NewEvent(str(uuid.uuid4()), kind, data)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def service(clock: ManualClock) -> AsyncIterator[EventService]:
    svc = EventService(MemoryEventLog(), clock)
    yield svc
    await svc.stop()


async def fails(code: ErrorCode, call: object) -> ConcordError:
    with pytest.raises(ConcordError) as info:
        await call  # type: ignore[misc]
    assert info.value.code is code, info.value
    return info.value


async def take(source: AsyncIterator[SubscriptionItem], count: int) -> list[SubscriptionItem]:
    out: list[SubscriptionItem] = []
    async with asyncio.timeout(5):
        while len(out) < count:
            out.append(await anext(source))
    return out


def revisions(items: list[SubscriptionItem]) -> list[int]:
    return [i.revision for i in items if isinstance(i, RecordedEvent)]


def positions(items: list[SubscriptionItem]) -> list[int]:
    return [i.position for i in items if isinstance(i, RecordedEvent)]


class TestAppend:
    async def test_ids_are_compared_case_insensitively(self, service: EventService) -> None:
        event = ev()
        first = await service.append("s", [event], ANY)
        shouted = NewEvent(event.event_id.upper(), event.type)
        assert await service.append("s", [shouted], ANY) == first
        page = await service.read_stream("s", FWD, None, 0, "")
        assert [e.event_id for e in page.events] == [event.event_id]

    async def test_a_batch_may_not_repeat_an_id(self, service: EventService) -> None:
        event = ev()
        error = await fails(ErrorCode.INVALID_ARGUMENT, service.append("s", [event, event], ANY))
        assert error.details["field"] == "events.event_id"
        await fails(ErrorCode.INVALID_ARGUMENT, service.append("s", [], ANY))

    async def test_events_are_stamped_with_the_clock(
        self, service: EventService, clock: ManualClock
    ) -> None:
        clock.advance(42)
        await service.append("s", [ev()], Expectation(ExpectedState.NO_STREAM))
        page = await service.read_all(FWD, None, 0, "")
        assert page.events[0].recorded_at == clock.now()
        assert (await service.metadata("s")).created_at == clock.now()


class TestReads:
    async def test_stream_pages_follow_tokens_forward(self, service: EventService) -> None:
        await service.append("s", [ev() for _ in range(120)], ANY)
        seen, token, pages = [], "", 0
        while True:
            page = await service.read_stream("s", FWD, None, 0, token)
            seen += [e.revision for e in page.events]
            pages += 1
            token = page.next_page_token
            if not token:
                break
        assert seen == list(range(120)) and pages == 3
        first = await service.read_stream("s", FWD, None, 0, "")
        assert len(first.events) == DEFAULT_PAGE_SIZE

    async def test_stream_pages_backward_end_without_an_empty_page(
        self, service: EventService
    ) -> None:
        await service.append("s", [ev() for _ in range(10)], ANY)
        page = await service.read_stream("s", BWD, 7, 4, "")
        assert [e.revision for e in page.events] == [7, 6, 5, 4]
        page = await service.read_stream("s", BWD, None, 4, page.next_page_token)
        assert [e.revision for e in page.events] == [3, 2, 1, 0]
        assert page.next_page_token == ""

    async def test_global_log_pages_both_ways(self, service: EventService) -> None:
        for n in range(5):
            await service.append(f"s-{n}", [ev()], ANY)
        page = await service.read_all(FWD, 2, 2, "")
        assert [e.position for e in page.events] == [2, 3]
        page = await service.read_all(FWD, None, 2, page.next_page_token)
        assert [e.position for e in page.events] == [4, 5] and page.next_page_token == ""
        page = await service.read_all(BWD, None, 3, "")
        assert [e.position for e in page.events] == [5, 4, 3]
        page = await service.read_all(BWD, None, 3, page.next_page_token)
        assert [e.position for e in page.events] == [2, 1] and page.next_page_token == ""

    async def test_foreign_or_broken_tokens_are_rejected(self, service: EventService) -> None:
        await service.append("s", [ev(), ev()], ANY)
        token = (await service.read_stream("s", FWD, None, 1, "")).next_page_token
        for call in (
            service.read_stream("t", FWD, None, 1, token),
            service.read_stream("s", BWD, None, 1, token),
            service.read_all(FWD, None, 1, token),
            service.read_stream("s", FWD, None, 1, "not a token!"),
            service.read_stream("s", FWD, None, 1, encode_token("stream:s", FWD, -3)),
        ):
            error = await fails(ErrorCode.INVALID_ARGUMENT, call)
            assert error.details["field"] == "page_token"
        await fails(ErrorCode.INVALID_ARGUMENT, service.read_all(FWD, None, 1001, ""))

    async def test_missing_and_deleted_streams_are_not_found(self, service: EventService) -> None:
        await service.append("gone", [ev()], ANY)
        await service.delete("gone", None)
        await service.set_metadata("meta-only", {"a": 1})
        for stream in ("never", "gone", "meta-only"):
            error = await fails(ErrorCode.NOT_FOUND, service.read_stream(stream, FWD, None, 0, ""))
            assert error.details == {"resource": "stream"}
        assert len((await service.read_all(FWD, None, 0, "")).events) == 1


class TestMetadata:
    async def test_unknown_stream_has_no_metadata(self, service: EventService) -> None:
        await fails(ErrorCode.NOT_FOUND, service.metadata("never"))

    async def test_custom_metadata_is_replaced_and_survives_delete(
        self, service: EventService
    ) -> None:
        await service.set_metadata("s", {"a": 1, "b": 2})
        await service.append("s", [ev()], ANY)
        await service.set_metadata("s", {"c": 3})
        state = await service.delete("s", 0)
        assert dict(state.custom) == {"c": 3} and state.deleted
        again = await service.metadata("s")
        assert (again.deleted, again.current_revision) == (True, 0)


class TestSubscriptions:
    async def test_all_catches_up_then_goes_live(self, service: EventService) -> None:
        await service.append("a", [ev(), ev()], ANY)
        source = await service.subscribe_all(1)
        assert await take(source, 3) == [
            *(await service.read_all(FWD, None, 0, "")).events,
            CAUGHT_UP,
        ]
        await service.append("b", [ev()], ANY)
        assert positions(await take(source, 1)) == [3]
        await source.aclose()

    async def test_live_only_starts_with_the_marker(self, service: EventService) -> None:
        await service.append("a", [ev()], ANY)
        source = await service.subscribe_all(None)
        assert await take(source, 1) == [CAUGHT_UP]
        await service.append("a", [ev()], ANY)
        assert positions(await take(source, 1)) == [2]
        await source.aclose()

    async def test_prefix_filters_streams(self, service: EventService) -> None:
        await service.append("orders-1", [ev()], ANY)
        await service.append("users-1", [ev()], ANY)
        source = await service.subscribe_all(0, "orders-")
        items = await take(source, 2)
        await service.append("users-2", [ev()], ANY)
        await service.append("orders-2", [ev()], ANY)
        items += await take(source, 1)
        assert [i.stream if isinstance(i, RecordedEvent) else i for i in items] == [
            "orders-1",
            CAUGHT_UP,
            "orders-2",
        ]
        await source.aclose()

    async def test_stream_subscription_survives_delete_and_recreate(
        self, service: EventService
    ) -> None:
        await service.append("s", [ev(), ev(), ev()], ANY)
        await service.append("other", [ev()], ANY)
        source = await service.subscribe_stream("s", 1)
        assert revisions(await take(source, 3)) == [1, 2]
        await service.delete("s", None)
        await service.append("other", [ev()], ANY)
        await service.append("s", [ev()], Expectation(ExpectedState.NO_STREAM))
        assert revisions(await take(source, 1)) == [3]
        await source.aclose()

    async def test_stream_subscription_to_a_future_stream(self, service: EventService) -> None:
        source = await service.subscribe_stream("later", 0)
        assert await take(source, 1) == [CAUGHT_UP]
        await service.append("later", [ev(), ev()], ANY)
        assert revisions(await take(source, 2)) == [0, 1]
        await source.aclose()

    async def test_nothing_is_lost_or_repeated_across_the_catch_up_boundary(
        self, service: EventService
    ) -> None:
        await service.append("s", [ev() for _ in range(500)], ANY)
        await service.append("s", [ev() for _ in range(500)], ANY)
        await service.append("t", [ev() for _ in range(300)], ANY)
        source = await service.subscribe_all(1)
        items: list[SubscriptionItem] = []
        async with asyncio.timeout(5):
            async for item in source:
                items.append(item)
                if len(items) % 250 == 0:
                    await service.append("u", [ev()], ANY)
                if len(positions(items)) == 1305:
                    break
        assert positions(items) == list(range(1, 1306))
        assert items.count(CAUGHT_UP) == 1
        await source.aclose()

    async def test_a_slow_reader_resyncs_instead_of_losing_events(self, clock: ManualClock) -> None:
        service = EventService(MemoryEventLog(), clock, wakeup_queue_limit=2)
        source = await service.subscribe_stream("s", None)
        assert await take(source, 1) == [CAUGHT_UP]
        for _ in range(10):
            await service.append("s", [ev()], ANY)
        assert revisions(await take(source, 10)) == list(range(10))
        await service.append("s", [ev()], ANY)
        assert revisions(await take(source, 1)) == [10]
        await source.aclose()

    async def test_polling_finds_appends_nobody_announced(self, clock: ManualClock) -> None:
        store = UnannouncedLog()
        service = EventService(store, clock)
        source = await service.subscribe_all(None)
        assert await take(source, 1) == [CAUGHT_UP]
        await store.append("s", [ev()], ANY, clock.now())
        assert positions(await take(source, 1)) == [1]
        await source.aclose()
        await service.stop()
        assert store.changes.subscriber_count == 0


class UnannouncedLog(MemoryEventLog):
    """A log whose appends reach subscribers only through head polling (as another process's)."""

    def __init__(self) -> None:
        super().__init__()
        self._polled: Broadcaster[LogChange] = Broadcaster()

    @property
    def changes(self) -> Broadcaster[LogChange]:
        return self._polled

    @property
    def poll_interval(self) -> float | None:
        return 0.01
