"""The event-log port: streams with gap-free revisions and one gap-free global order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Final, Protocol

from concord_server.errors import ConcordError, ErrorCode, invalid_argument
from concord_server.pubsub import Broadcaster


class Absent(Enum):
    """The type of NO_DATA: an event without data, unlike one whose data is JSON `null`."""

    NO_DATA = "NO_DATA"


NO_DATA: Final = Absent.NO_DATA


class ExpectedState(StrEnum):
    """The stream state an append requires when no exact revision is given."""

    ANY = "ANY"
    NO_STREAM = "NO_STREAM"
    STREAM_EXISTS = "STREAM_EXISTS"


class Direction(StrEnum):
    """Which way a read goes."""

    FORWARD = "FORWARD"
    BACKWARD = "BACKWARD"


@dataclass(frozen=True)
class Expectation:
    """An append's or delete's precondition: an exact revision, else a state."""

    state: ExpectedState = ExpectedState.ANY
    revision: int | None = None

    def describe(self) -> int | str:
        """The expectation as the error details show it."""
        return self.revision if self.revision is not None else self.state.value

    def verify(self, stream: StreamState | None) -> None:
        """Raises WRONG_EXPECTED_REVISION when the stream's state does not meet it."""
        exists = stream is not None and stream.exists
        actual = stream.current_revision if stream is not None and exists else -1
        if self.revision is not None:
            ok = exists and actual == self.revision
        elif self.state is ExpectedState.NO_STREAM:
            ok = not exists
        elif self.state is ExpectedState.STREAM_EXISTS:
            ok = exists
        else:
            ok = True
        if not ok:
            raise wrong_expected_revision(actual, self.describe())


def wrong_expected_revision(actual: int, expected: int | str) -> ConcordError:
    """The WRONG_EXPECTED_REVISION error with the contract's details."""
    return ConcordError(
        ErrorCode.WRONG_EXPECTED_REVISION,
        f"stream is at revision {actual}, expected {expected}",
        {"actual_revision": actual, "expected": expected},
    )


@dataclass(frozen=True)
class NewEvent:
    """An event to append; `event_id` is a lower-case UUID, `data` any JSON value or NO_DATA."""

    event_id: str
    type: str
    data: Any = NO_DATA
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedEvent:
    """A stored event with its stream revision and global position; `data` may be NO_DATA."""

    event_id: str
    stream: str
    revision: int
    position: int
    type: str
    data: Any
    metadata: Mapping[str, str]
    recorded_at: datetime


@dataclass(frozen=True)
class AppendResult:
    """What an append answers: the stream's last revision, the last position, each revision."""

    next_expected_revision: int
    position: int
    revisions: tuple[int, ...]


@dataclass(frozen=True)
class StreamState:
    """A stream's row: revisions below `first_revision` were hidden by a soft delete."""

    stream: str
    current_revision: int = -1
    first_revision: int = 0
    deleted: bool = False
    custom: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    @property
    def exists(self) -> bool:
        """True when the stream has visible events and is not deleted."""
        return not self.deleted and self.current_revision >= self.first_revision


@dataclass(frozen=True)
class StoredId:
    """Where an already used event id lives."""

    event_id: str
    stream: str
    revision: int
    position: int


@dataclass(frozen=True)
class LogChange:
    """A hint that the log grew up to `position`; `stream` is "" when unknown (polling)."""

    position: int
    stream: str = ""


def replayed_append(
    stream: str,
    events: Sequence[NewEvent],
    expected: Expectation,
    found: Sequence[StoredId],
    state: StreamState | None,
) -> AppendResult | None:
    """The original result of a retried append, None for a fresh one; raises on a mixed batch.

    A retry is a batch whose ids were all appended to this stream, in the same order, at
    consecutive revisions. Any other reuse of ids is INVALID_ARGUMENT. An exact expected revision
    must also be the one the original append was checked against.
    """
    if not found:
        return None
    by_id = {s.event_id: s for s in found}
    for event in events:
        stored = by_id.get(event.event_id)
        if stored is None:
            raise _reused(event.event_id, "the batch repeats only part of an earlier append")
        if stored.stream != stream:
            raise _reused(event.event_id, "the event id is already used by another stream")
    first = by_id[events[0].event_id].revision
    revisions = tuple(by_id[e.event_id].revision for e in events)
    if revisions != tuple(range(first, first + len(events))):
        raise _reused(events[0].event_id, "the batch repeats earlier events in another order")
    if expected.revision is not None and expected.revision != first - 1:
        actual = state.current_revision if state is not None and state.exists else -1
        raise wrong_expected_revision(actual, expected.revision)
    last = by_id[events[-1].event_id]
    return AppendResult(last.revision, last.position, revisions)


def _reused(event_id: str, reason: str) -> ConcordError:
    return invalid_argument(
        f"event id {event_id} was appended before: {reason}",
        "events.event_id",
        event_id=event_id,
        reason="event_id_reused",
    )


class EventLog(Protocol):
    """Storage of streams and the global log; every write is one atomic transaction."""

    @property
    def changes(self) -> Broadcaster[LogChange]:
        """Hints of committed appends (this instance's and, where the engine tells, others')."""
        ...

    @property
    def poll_interval(self) -> float | None:
        """Seconds between head polls that back up engine notifications; None: not needed."""
        ...

    async def listen(self) -> None:
        """Makes sure engine notifications flow into `changes` (re-connecting if lost)."""
        ...

    async def append(
        self, stream: str, events: Sequence[NewEvent], expected: Expectation, now: datetime
    ) -> AppendResult:
        """Appends atomically after `Expectation.verify` and `replayed_append` pass."""
        ...

    async def read_stream(
        self, stream: str, direction: Direction, from_revision: int | None, limit: int
    ) -> list[RecordedEvent] | None:
        """Up to `limit` visible events from `from_revision` (inclusive); None if not existing."""
        ...

    async def read_all(
        self,
        direction: Direction,
        from_position: int | None,
        limit: int,
        stream_prefix: str = "",
        to_position: int | None = None,
    ) -> list[RecordedEvent]:
        """Up to `limit` events of the global log from `from_position` (inclusive).

        Forward reads stop at `to_position` (inclusive) when given.
        """
        ...

    async def head_position(self) -> int:
        """The position of the last committed event; 0 for an empty log."""
        ...

    async def stream_state(self, stream: str) -> StreamState | None:
        """The stream's row, or None when it was never appended to nor given metadata."""
        ...

    async def set_custom(
        self, stream: str, custom: Mapping[str, Any], now: datetime
    ) -> StreamState:
        """Replaces the stream's custom metadata, creating its row if needed."""
        ...

    async def delete(self, stream: str, expected_revision: int | None) -> StreamState:
        """Soft-deletes an existing stream (idempotent); NOT_FOUND when it has no events."""
        ...

    async def check(self) -> None:
        """Raises when the engine does not answer."""
        ...

    async def close(self) -> None:
        """Stops listeners; shared connections stay open."""
        ...


def delete_outcome(state: StreamState | None, stream: str, expected_revision: int | None) -> bool:
    """Whether a delete must change the row; raises NOT_FOUND or WRONG_EXPECTED_REVISION.

    Deleting a deleted stream again answers its state (the RPC is idempotent) when the
    expectation is absent or names the revision it was deleted at.
    """
    if state is None or (not state.deleted and not state.exists):
        raise ConcordError(
            ErrorCode.NOT_FOUND, f"stream {stream!r} not found", {"resource": "stream"}
        )
    if state.deleted:
        if expected_revision is not None and expected_revision != state.current_revision:
            raise wrong_expected_revision(-1, expected_revision)
        return False
    if expected_revision is not None and expected_revision != state.current_revision:
        raise wrong_expected_revision(state.current_revision, expected_revision)
    return True
