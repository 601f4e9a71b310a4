"""EventService: maps the event store's messages to the domain and back."""

from __future__ import annotations

from collections.abc import AsyncIterator

from concord_server._gen.concord.v1 import events_pb2
from concord_server.api import convert
from concord_server.backends import registry
from concord_server.backends.connections import Connections
from concord_server.clock import Clock
from concord_server.component import Wired
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.domain.events import CaughtUp, EventService
from concord_server.ports.events import (
    NO_DATA,
    Direction,
    EventLog,
    Expectation,
    ExpectedState,
    NewEvent,
    RecordedEvent,
    StreamState,
)

STATES = {
    events_pb2.EXPECTED_STREAM_STATE_UNSPECIFIED: ExpectedState.ANY,
    events_pb2.EXPECTED_STREAM_STATE_ANY: ExpectedState.ANY,
    events_pb2.EXPECTED_STREAM_STATE_NO_STREAM: ExpectedState.NO_STREAM,
    events_pb2.EXPECTED_STREAM_STATE_STREAM_EXISTS: ExpectedState.STREAM_EXISTS,
}


class EventHandlers:
    """The EventService RPCs."""

    SERVICE = "concord.v1.EventService"

    def __init__(self, service: EventService) -> None:
        self._service = service

    async def AppendToStream(
        self, request: events_pb2.AppendToStreamRequest, ctx: CallContext
    ) -> events_pb2.AppendToStreamResponse:
        """Appends the request's events; `revisions` lists theirs in order."""
        revision = request.expected_revision if request.HasField("expected_revision") else None
        expected = Expectation(STATES.get(request.expected_state, ExpectedState.ANY), revision)
        events = [
            NewEvent(
                event_id=e.event_id,
                type=e.type,
                data=convert.to_python(e.data) if e.HasField("data") else NO_DATA,
                metadata=dict(e.metadata),
            )
            for e in request.events
        ]
        result = await self._service.append(request.stream, events, expected)
        return events_pb2.AppendToStreamResponse(
            next_expected_revision=result.next_expected_revision,
            position=result.position,
            revisions=list(result.revisions),
        )

    async def ReadStream(
        self, request: events_pb2.ReadStreamRequest, ctx: CallContext
    ) -> events_pb2.ReadStreamResponse:
        """One page of a stream."""
        page = await self._service.read_stream(
            request.stream,
            direction_of(request.direction),
            request.from_revision if request.HasField("from_revision") else None,
            request.page_size,
            request.page_token,
        )
        return events_pb2.ReadStreamResponse(
            events=[recorded_event(e) for e in page.events], next_page_token=page.next_page_token
        )

    async def ReadAll(
        self, request: events_pb2.ReadAllRequest, ctx: CallContext
    ) -> events_pb2.ReadAllResponse:
        """One page of the global log."""
        page = await self._service.read_all(
            direction_of(request.direction),
            request.from_position if request.HasField("from_position") else None,
            request.page_size,
            request.page_token,
        )
        return events_pb2.ReadAllResponse(
            events=[recorded_event(e) for e in page.events], next_page_token=page.next_page_token
        )

    async def SubscribeToStream(
        self, request: events_pb2.SubscribeToStreamRequest, ctx: CallContext
    ) -> AsyncIterator[events_pb2.SubscribeToStreamResponse]:
        """A stream's events: catch-up, `caught_up`, then live."""
        start = request.from_revision if request.HasField("from_revision") else None
        source = self._service.subscribe_stream(request.stream, start)
        try:
            async for item in source:
                if isinstance(item, CaughtUp):
                    yield events_pb2.SubscribeToStreamResponse(caught_up=True)
                else:
                    yield events_pb2.SubscribeToStreamResponse(event=recorded_event(item))
        finally:
            await source.aclose()

    async def SubscribeToAll(
        self, request: events_pb2.SubscribeToAllRequest, ctx: CallContext
    ) -> AsyncIterator[events_pb2.SubscribeToAllResponse]:
        """The global log, optionally of a stream prefix: catch-up, `caught_up`, then live."""
        start = request.from_position if request.HasField("from_position") else None
        source = self._service.subscribe_all(start, request.stream_prefix)
        try:
            async for item in source:
                if isinstance(item, CaughtUp):
                    yield events_pb2.SubscribeToAllResponse(caught_up=True)
                else:
                    yield events_pb2.SubscribeToAllResponse(event=recorded_event(item))
        finally:
            await source.aclose()

    async def GetStreamMetadata(
        self, request: events_pb2.GetStreamMetadataRequest, ctx: CallContext
    ) -> events_pb2.GetStreamMetadataResponse:
        """A stream's metadata."""
        state = await self._service.metadata(request.stream)
        return events_pb2.GetStreamMetadataResponse(metadata=stream_metadata(state))

    async def SetStreamMetadata(
        self, request: events_pb2.SetStreamMetadataRequest, ctx: CallContext
    ) -> events_pb2.SetStreamMetadataResponse:
        """Replaces a stream's custom metadata."""
        custom = convert.struct_to_dict(request.custom)
        state = await self._service.set_metadata(request.stream, custom)
        return events_pb2.SetStreamMetadataResponse(metadata=stream_metadata(state))

    async def DeleteStream(
        self, request: events_pb2.DeleteStreamRequest, ctx: CallContext
    ) -> events_pb2.DeleteStreamResponse:
        """Soft-deletes a stream."""
        revision = request.expected_revision if request.HasField("expected_revision") else None
        state = await self._service.delete(request.stream, revision)
        return events_pb2.DeleteStreamResponse(metadata=stream_metadata(state))


def direction_of(value: int) -> Direction:
    """The read direction; omitted means FORWARD."""
    return Direction.BACKWARD if value == events_pb2.READ_DIRECTION_BACKWARD else Direction.FORWARD


def recorded_event(event: RecordedEvent) -> events_pb2.RecordedEvent:
    """The contract's RecordedEvent; a missing payload stays unset."""
    message = events_pb2.RecordedEvent(
        event_id=event.event_id,
        stream=event.stream,
        revision=event.revision,
        position=event.position,
        type=event.type,
        metadata=dict(event.metadata),
        recorded_at=convert.timestamp(event.recorded_at),
    )
    if event.data is not NO_DATA:
        message.data.CopyFrom(convert.value(event.data))
    return message


def stream_metadata(state: StreamState) -> events_pb2.StreamMetadata:
    """The contract's StreamMetadata."""
    return events_pb2.StreamMetadata(
        stream=state.stream,
        current_revision=state.current_revision,
        deleted=state.deleted,
        custom=convert.struct(dict(state.custom)),
        created_at=convert.timestamp(state.created_at),
    )


class EventsComponent:
    """The event store's lifecycle: the head poller and the engine listener stop at shutdown."""

    name = "events"

    def __init__(self, store: EventLog, service: EventService, backend: str) -> None:
        self._store = store
        self._service = service
        self.backend = backend

    async def start(self) -> None:
        """Nothing runs until the first subscription."""

    async def stop(self) -> None:
        """Stops polling and releases the listening connection."""
        await self._service.stop()
        await self._store.close()

    async def check(self) -> None:
        """Asks the engine."""
        await self._store.check()


async def wire(settings: Settings, connections: Connections, clock: Clock) -> Wired:
    """Opens the event log from `events_url` and builds the handlers and the component."""
    url = settings.events_url
    store: EventLog = await registry.open_backend("events", url, settings, connections)
    service = EventService(store, clock, wakeup_queue_limit=settings.ws_max_queue)
    component = EventsComponent(store, service, registry.scheme_of(url))
    return Wired(handlers=[EventHandlers(service)], components=[component])
