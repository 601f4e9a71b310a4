"""`concord events`: append, read, tail (-f), info, delete."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from concord import (
    EventData,
    ExpectedStreamState,
    NotFoundError,
    ReadDirection,
    RecordedEvent,
)
from rich.text import Text

from concord_cli.commands.common import Limit, limited
from concord_cli.output import Column, json_text, when
from concord_cli.parsing import json_value, pairs
from concord_cli.state import State, state_of

app = typer.Typer(help="Event streams: append, read, tail -f.", no_args_is_help=True)

COLUMNS: list[Column] = [
    ("STREAM", lambda e: e.stream),
    ("REV", lambda e: str(e.revision)),
    ("POS", lambda e: str(e.position)),
    ("TYPE", lambda e: e.type),
    ("RECORDED", lambda e: when(e.recorded_at)),
    ("DATA", lambda e: json_text(e.data)),
]
Stream = Annotated[str, typer.Argument(help="Stream name.")]
AnyStream = Annotated[
    str | None, typer.Argument(help="Stream name; without one, the global log of all streams.")
]


def event_line(event: RecordedEvent) -> Text:
    """`stream@revision #position type data` for one event."""
    line = Text(f"{when(event.recorded_at)}  ")
    line.append(f"{event.stream}@{event.revision}", style="bold")
    line.append(f"  #{event.position}  ", style="dim")
    line.append(event.type, style="cyan")
    line.append(f"  {json_text(event.data, 200)}")
    return line


def _expectation(expect: str | None) -> tuple[ExpectedStreamState | None, int | None]:
    if expect is None:
        return None, None
    if expect.isdigit():
        return None, int(expect)
    states = {"any": "ANY", "no-stream": "NO_STREAM", "exists": "STREAM_EXISTS"}
    if expect not in states:
        raise typer.BadParameter(
            "use a revision number, any, no-stream or exists", param_hint="--expect"
        )
    return ExpectedStreamState(states[expect]), None


@app.command()
def append(
    ctx: typer.Context,
    stream: Stream,
    type_: Annotated[str, typer.Option("--type", "-t", help="Event type.")],
    data: Annotated[
        str, typer.Option("--data", "-d", help="JSON data; @FILE reads a file, - stdin.")
    ] = "null",
    metadata: Annotated[
        list[str] | None, typer.Option("--meta", "-m", help="Metadata KEY=VALUE (repeatable).")
    ] = None,
    expect: Annotated[
        str | None,
        typer.Option("--expect", help="Expected revision: a number, any, no-stream or exists."),
    ] = None,
    event_id: Annotated[
        str | None, typer.Option("--event-id", help="Event id (default: a new uuid).")
    ] = None,
) -> None:
    """Append one event to a stream."""
    state = state_of(ctx)
    event = EventData(
        event_id=event_id or str(uuid.uuid4()),
        type=type_,
        data=json_value(data),
        metadata=pairs(metadata),
    )
    expected_state, expected_revision = _expectation(expect)
    result = state.client().events.append(
        stream, [event], expected_state=expected_state, expected_revision=expected_revision
    )
    state.printer.one(
        result,
        [
            ("revisions", lambda r: ", ".join(str(v) for v in r.revisions)),
            ("position", lambda r: str(r.position)),
            ("next expected revision", lambda r: str(r.next_expected_revision)),
        ],
    )


def _read(
    state: State, stream: str | None, start: int | None, backward: bool
) -> Iterable[RecordedEvent]:
    direction = ReadDirection.BACKWARD if backward else ReadDirection.FORWARD
    events = state.client().events
    if stream is None:
        return events.read_all(direction=direction, from_position=start)
    return events.read(stream, direction=direction, from_revision=start)


@app.command()
def read(
    ctx: typer.Context,
    stream: AnyStream = None,
    start: Annotated[
        int | None, typer.Option("--from", help="First revision (or global position) to read.")
    ] = None,
    backward: Annotated[bool, typer.Option("--backward", help="Newest first.")] = False,
    limit: Limit = None,
) -> None:
    """Read a stream (or the global log), oldest first."""
    state = state_of(ctx)
    state.printer.items(limited(_read(state, stream, start, backward), limit), COLUMNS)


def _last(state: State, stream: str | None, count: int, prefix: str) -> list[RecordedEvent]:
    try:
        newest = _read(state, stream, None, backward=True)
        picked = limited((e for e in newest if e.stream.startswith(prefix)), count)
        return list(picked)[::-1]
    except NotFoundError:
        return []


def _follow(state: State, stream: str | None, after: list[RecordedEvent], prefix: str) -> Any:
    events = state.client().events
    if stream is None:
        start = after[-1].position + 1 if after else None
        return events.subscribe_all(from_position=start, stream_prefix=prefix)
    return events.subscribe(stream, from_revision=after[-1].revision + 1 if after else 0)


@app.command()
def tail(
    ctx: typer.Context,
    stream: AnyStream = None,
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="Show the last N.")] = 10,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Then stream new events.")] = False,
    prefix: Annotated[
        str, typer.Option("--prefix", help="Global log only: streams with this prefix.")
    ] = "",
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="With -f: stop after this many new ones.")
    ] = None,
) -> None:
    """Show the last events of a stream (or of the global log); -f keeps following."""
    state = state_of(ctx)
    shown = _last(state, stream, lines, prefix) if lines else []
    for event in shown:
        state.printer.event(event, event_line(event))
    if not follow:
        return
    seen = 0
    with _follow(state, stream, shown, prefix) as messages:
        for message in messages:
            if message.event is None:
                continue  # a caught-up marker
            state.printer.event(message.event, event_line(message.event))
            seen += 1
            if count is not None and seen >= count:
                break


@app.command()
def info(ctx: typer.Context, stream: Stream) -> None:
    """Show a stream's metadata: current revision, deleted, custom metadata."""
    state = state_of(ctx)
    meta = state.client().events.get_metadata(stream).metadata
    state.printer.one(
        meta,
        [
            ("stream", lambda m: m.stream),
            ("current revision", lambda m: str(m.current_revision)),
            ("deleted", lambda m: str(m.deleted).lower()),
            ("created at", lambda m: when(m.created_at)),
            ("custom", lambda m: json_text(m.custom or {}, 200)),
        ],
    )


@app.command()
def delete(
    ctx: typer.Context,
    stream: Stream,
    expect: Annotated[
        int | None, typer.Option("--expect", help="Only if the stream is at this revision.")
    ] = None,
) -> None:
    """Delete a stream."""
    state = state_of(ctx)
    meta = state.client().events.delete_stream(stream, expected_revision=expect).metadata
    state.printer.one(meta, [("stream", lambda m: m.stream), ("deleted", lambda m: "true")])
