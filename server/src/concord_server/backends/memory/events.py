"""In-process event log: one list as the global log, per-stream revision indexes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from concord_server.backends.connections import Connections
from concord_server.config import Settings
from concord_server.ports.events import (
    AppendResult,
    Direction,
    Expectation,
    LogChange,
    NewEvent,
    RecordedEvent,
    StoredId,
    StreamState,
    delete_outcome,
    replayed_append,
)
from concord_server.pubsub import Broadcaster


class MemoryEventLog:
    """Event log in memory; every method runs without awaiting, so each is atomic."""

    def __init__(self) -> None:
        self._log: list[RecordedEvent] = []  # position p is at index p - 1
        self._by_stream: dict[str, list[RecordedEvent]] = {}  # index = revision
        self._streams: dict[str, StreamState] = {}
        self._ids: dict[str, RecordedEvent] = {}
        self._changes: Broadcaster[LogChange] = Broadcaster()

    @property
    def changes(self) -> Broadcaster[LogChange]:
        """Hints of committed appends."""
        return self._changes

    @property
    def poll_interval(self) -> float | None:
        """No polling: every writer lives in this process."""
        return None

    async def listen(self) -> None:
        """Nothing to listen to beyond this process."""

    async def append(
        self, stream: str, events: Sequence[NewEvent], expected: Expectation, now: datetime
    ) -> AppendResult:
        """Checks the expectation and retries, then appends the batch."""
        state = self._streams.get(stream)
        found = [_stored_id(self._ids[e.event_id]) for e in events if e.event_id in self._ids]
        replay = replayed_append(stream, events, expected, found, state)
        if replay is not None:
            return replay
        expected.verify(state)
        state = state or StreamState(stream)
        if not state.exists:
            state = replace(
                state, deleted=False, first_revision=state.current_revision + 1, created_at=now
            )
        recorded = [
            RecordedEvent(
                event_id=e.event_id,
                stream=stream,
                revision=state.current_revision + 1 + i,
                position=len(self._log) + 1 + i,
                type=e.type,
                data=e.data,
                metadata=dict(e.metadata),
                recorded_at=now,
            )
            for i, e in enumerate(events)
        ]
        self._log.extend(recorded)
        self._by_stream.setdefault(stream, []).extend(recorded)
        self._ids.update((r.event_id, r) for r in recorded)
        last = recorded[-1]
        self._streams[stream] = replace(state, current_revision=last.revision)
        self._changes.publish(LogChange(last.position, stream))
        return AppendResult(last.revision, last.position, tuple(r.revision for r in recorded))

    async def read_stream(
        self, stream: str, direction: Direction, from_revision: int | None, limit: int
    ) -> list[RecordedEvent] | None:
        """Visible events of a live stream, from a revision."""
        state = self._streams.get(stream)
        if state is None or not state.exists:
            return None
        events = self._by_stream[stream]
        low, high = state.first_revision, state.current_revision
        if direction is Direction.FORWARD:
            start = max(low, from_revision or 0)
            return events[start : min(high + 1, start + limit)]
        start = high if from_revision is None else min(high, from_revision)
        stop = max(low, start - limit + 1)
        return events[stop : start + 1][::-1] if start >= stop else []

    async def read_all(
        self,
        direction: Direction,
        from_position: int | None,
        limit: int,
        stream_prefix: str = "",
        to_position: int | None = None,
    ) -> list[RecordedEvent]:
        """Events of the global log from a position, optionally of a stream prefix."""
        out: list[RecordedEvent] = []
        if direction is Direction.FORWARD:
            start = max(1, from_position or 1)
            end = len(self._log) if to_position is None else min(to_position, len(self._log))
            candidates = range(start, end + 1)
        else:
            top = len(self._log) if from_position is None else min(from_position, len(self._log))
            candidates = range(top, 0, -1)
        for position in candidates:
            event = self._log[position - 1]
            if event.stream.startswith(stream_prefix):
                out.append(event)
                if len(out) >= limit:
                    break
        return out

    async def head_position(self) -> int:
        """The last position."""
        return len(self._log)

    async def stream_state(self, stream: str) -> StreamState | None:
        """The stream's row."""
        return self._streams.get(stream)

    async def set_custom(
        self, stream: str, custom: Mapping[str, Any], now: datetime
    ) -> StreamState:
        """Replaces the custom metadata."""
        state = replace(self._streams.get(stream) or StreamState(stream), custom=dict(custom))
        self._streams[stream] = state
        return state

    async def delete(self, stream: str, expected_revision: int | None) -> StreamState:
        """Soft-deletes the stream."""
        state = self._streams.get(stream)
        if delete_outcome(state, stream, expected_revision):
            assert state is not None
            state = replace(state, deleted=True)
            self._streams[stream] = state
        assert state is not None
        return state

    async def check(self) -> None:
        """Memory always answers."""

    async def close(self) -> None:
        """Nothing to release."""


def _stored_id(event: RecordedEvent) -> StoredId:
    return StoredId(event.event_id, event.stream, event.revision, event.position)


async def open_event_log(url: str, settings: Settings, connections: Connections) -> MemoryEventLog:
    """A fresh in-memory event log (memory:// URLs never share data)."""
    return MemoryEventLog()
