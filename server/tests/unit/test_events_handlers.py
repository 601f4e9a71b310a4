"""EventService handlers: real proto requests in, proto responses or catalogue errors out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from concord_server._gen.concord.v1 import events_pb2
from concord_server.api import convert
from concord_server.api.handlers.events import EventHandlers, wire
from concord_server.backends.connections import Connections
from concord_server.backends.memory.events import MemoryEventLog
from concord_server.clock import ManualClock
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.domain.events import EventService
from concord_server.errors import ConcordError, ErrorCode

CTX = CallContext(request_id="t")
T0 = datetime(2030, 1, 1, tzinfo=UTC)


def event(kind: str = "Happened", data: Any = None, **metadata: str) -> events_pb2.EventData:
    message = events_pb2.EventData(event_id=str(uuid.uuid4()), type=kind, metadata=metadata)
    if data is not None:
        message.data.CopyFrom(convert.value(data))
    return message


@pytest.fixture
def handlers() -> EventHandlers:
    return EventHandlers(EventService(MemoryEventLog(), ManualClock(T0)))


async def append(h: EventHandlers, stream: str, *events: events_pb2.EventData, **kw: Any) -> Any:
    request = events_pb2.AppendToStreamRequest(stream=stream, events=list(events), **kw)
    return await h.AppendToStream(request, CTX)


async def fails(code: ErrorCode, call: Any) -> ConcordError:
    with pytest.raises(ConcordError) as info:
        await call
    assert info.value.code is code, info.value
    return info.value


async def take(source: AsyncIterator[Any], count: int) -> list[Any]:
    async with asyncio.timeout(5):
        return [await anext(source) for _ in range(count)]


class TestAppendAndRead:
    async def test_append_answers_revisions_and_position(self, handlers: EventHandlers) -> None:
        await append(handlers, "other", event())
        response = await append(
            handlers,
            "s",
            event(),
            event(),
            expected_state=events_pb2.EXPECTED_STREAM_STATE_NO_STREAM,
        )
        assert list(response.revisions) == [0, 1]
        assert (response.next_expected_revision, response.position) == (1, 3)
        response = await append(handlers, "s", event(), expected_revision=1)
        assert list(response.revisions) == [2]

    async def test_wrong_expectations_are_reported(self, handlers: EventHandlers) -> None:
        await append(handlers, "s", event())
        error = await fails(
            ErrorCode.WRONG_EXPECTED_REVISION,
            append(
                handlers, "s", event(), expected_state=events_pb2.EXPECTED_STREAM_STATE_NO_STREAM
            ),
        )
        assert error.details == {"actual_revision": 0, "expected": "NO_STREAM"}
        error = await fails(
            ErrorCode.WRONG_EXPECTED_REVISION,
            append(
                handlers,
                "new",
                event(),
                expected_state=events_pb2.EXPECTED_STREAM_STATE_NO_STREAM,
                expected_revision=0,
            ),
        )
        assert error.details == {"actual_revision": -1, "expected": 0}

    async def test_recorded_events_carry_every_field(self, handlers: EventHandlers) -> None:
        sent = event("Order.Placed", {"total": 12.5, "lines": [{"sku": "a"}]}, trace="x")
        await append(handlers, "orders-1", sent, event("Empty"))
        page = await handlers.ReadStream(events_pb2.ReadStreamRequest(stream="orders-1"), CTX)
        first, second = page.events
        assert (first.event_id, first.stream, first.revision, first.position) == (
            sent.event_id,
            "orders-1",
            0,
            1,
        )
        assert first.type == "Order.Placed" and dict(first.metadata) == {"trace": "x"}
        assert convert.to_python(first.data) == {"total": 12.5, "lines": [{"sku": "a"}]}
        assert convert.to_datetime(first.recorded_at) == T0
        assert not second.HasField("data") and page.next_page_token == ""

    async def test_pages_and_directions(self, handlers: EventHandlers) -> None:
        await append(handlers, "s", *(event() for _ in range(5)))
        request = events_pb2.ReadStreamRequest(
            stream="s", direction=events_pb2.READ_DIRECTION_BACKWARD, page_size=3
        )
        page = await handlers.ReadStream(request, CTX)
        assert [e.revision for e in page.events] == [4, 3, 2] and page.next_page_token
        request.page_token = page.next_page_token
        page = await handlers.ReadStream(request, CTX)
        assert [e.revision for e in page.events] == [1, 0] and not page.next_page_token
        everything = await handlers.ReadAll(events_pb2.ReadAllRequest(from_position=4), CTX)
        assert [e.position for e in everything.events] == [4, 5]

    async def test_unknown_stream_is_not_found(self, handlers: EventHandlers) -> None:
        request = events_pb2.ReadStreamRequest(stream="never")
        await fails(ErrorCode.NOT_FOUND, handlers.ReadStream(request, CTX))


class TestSubscriptions:
    async def test_subscribe_to_stream(self, handlers: EventHandlers) -> None:
        await append(handlers, "s", event(), event())
        request = events_pb2.SubscribeToStreamRequest(stream="s", from_revision=1)
        source = await handlers.SubscribeToStream(request, CTX)
        first, marker = await take(source, 2)
        assert first.event.revision == 1 and marker.caught_up
        await append(handlers, "s", event("Live"))
        (live,) = await take(source, 1)
        assert (live.event.type, live.event.revision) == ("Live", 2)
        await source.aclose()

    async def test_subscribe_to_all_with_a_prefix_from_now(self, handlers: EventHandlers) -> None:
        await append(handlers, "orders-1", event())
        request = events_pb2.SubscribeToAllRequest(stream_prefix="orders-")
        source = await handlers.SubscribeToAll(request, CTX)
        (marker,) = await take(source, 1)
        assert marker.WhichOneof("content") == "caught_up"
        await append(handlers, "users-1", event())
        await append(handlers, "orders-2", event())
        (live,) = await take(source, 1)
        assert (live.event.stream, live.event.position) == ("orders-2", 3)
        await source.aclose()


class TestStreamMetadata:
    async def test_set_get_and_delete(self, handlers: EventHandlers) -> None:
        custom = convert.struct({"owner": "ann", "tags": ["a"]})
        response = await handlers.SetStreamMetadata(
            events_pb2.SetStreamMetadataRequest(stream="s", custom=custom), CTX
        )
        assert response.metadata.current_revision == -1
        assert not response.metadata.HasField("created_at")
        await append(handlers, "s", event())
        got = await handlers.GetStreamMetadata(events_pb2.GetStreamMetadataRequest(stream="s"), CTX)
        assert convert.struct_to_dict(got.metadata.custom) == {"owner": "ann", "tags": ["a"]}
        assert got.metadata.current_revision == 0 and not got.metadata.deleted
        assert convert.to_datetime(got.metadata.created_at) == T0
        deleted = await handlers.DeleteStream(
            events_pb2.DeleteStreamRequest(stream="s", expected_revision=0), CTX
        )
        assert deleted.metadata.deleted and deleted.metadata.stream == "s"

    async def test_delete_checks_expected_revision_and_existence(
        self, handlers: EventHandlers
    ) -> None:
        await append(handlers, "s", event())
        request = events_pb2.DeleteStreamRequest(stream="s", expected_revision=5)
        error = await fails(ErrorCode.WRONG_EXPECTED_REVISION, handlers.DeleteStream(request, CTX))
        assert error.details == {"actual_revision": 0, "expected": 5}
        missing = events_pb2.GetStreamMetadataRequest(stream="never")
        await fails(ErrorCode.NOT_FOUND, handlers.GetStreamMetadata(missing, CTX))
        gone = events_pb2.DeleteStreamRequest(stream="never")
        await fails(ErrorCode.NOT_FOUND, handlers.DeleteStream(gone, CTX))


async def test_wire_builds_handlers_and_component(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, events_url="sqlite://")
    connections = Connections()
    wired = await wire(settings, connections, ManualClock(T0))
    (handler,) = wired.handlers
    (component,) = wired.components
    assert isinstance(handler, EventHandlers) and handler.SERVICE == "concord.v1.EventService"
    assert (component.name, component.backend) == ("events", "sqlite")
    await component.start()
    await component.check()
    await append(handler, "s", event())
    await component.stop()
    await connections.close()
    assert (tmp_path / "concord.db").exists()
