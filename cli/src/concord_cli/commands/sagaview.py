"""How a saga is shown: its summary, its steps, and each step's timeline."""

from __future__ import annotations

from concord import Saga, SagaStep
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from concord_cli.output import Column, enum_text, json_text, styled, when

COLUMNS: list[Column] = [
    ("ID", lambda s: s.saga_id),
    ("NAME", lambda s: s.definition.name if s.definition else "-"),
    ("STATE", lambda s: styled(s.state)),
    ("STEPS", lambda s: progress(s)),
    ("UPDATED", lambda s: when(s.updated_at)),
    ("ERROR", lambda s: s.error or ""),
]
FINAL = frozenset({"COMPLETED", "COMPENSATED", "FAILED"})


def progress(saga: Saga) -> str:
    """'2/3' steps succeeded."""
    done = sum(1 for step in saga.steps if enum_text(step.state) == "SUCCEEDED")
    return f"{done}/{len(saga.steps)}"


def is_final(saga: Saga) -> bool:
    """True once the saga can change no more."""
    return enum_text(saga.state) in FINAL


def last_event(step: SagaStep) -> str:
    """The newest history entry of a step, on one line."""
    if not step.history:
        return ""
    event = step.history[-1]
    text = f"{enum_text(event.phase).lower()} {enum_text(event.type).lower()} #{event.attempt}"
    return f"{text}: {event.message}" if event.message else text


def steps_table(saga: Saga) -> Table:
    """One row per step: state, attempts, the latest event."""
    table = Table(header_style="bold")
    for header in ("STEP", "STATE", "ATTEMPTS", "COMP.", "LATEST"):
        table.add_column(header, overflow="fold")
    for step in saga.steps:
        table.add_row(
            step.name,
            styled(step.state),
            str(step.attempts),
            str(step.compensation_attempts),
            last_event(step),
        )
    return table


def timeline(saga: Saga) -> Table:
    """Every step event in time order, compensations included."""
    table = Table(header_style="bold", title="timeline", title_justify="left")
    for header in ("AT", "STEP", "PHASE", "EVENT", "ATTEMPT", "MESSAGE"):
        table.add_column(header, overflow="fold")
    events = [(event, step.name) for step in saga.steps for event in step.history]
    for event, name in sorted(events, key=lambda pair: pair[0].at or saga.created_at or 0):
        phase = enum_text(event.phase)
        table.add_row(
            when(event.at),
            name,
            Text(phase.lower(), style="yellow" if phase == "COMPENSATION" else ""),
            styled(event.type),
            str(event.attempt),
            event.message,
        )
    return table


def summary(saga: Saga) -> Table:
    """The saga's own fields."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("saga id", saga.saga_id)
    table.add_row("name", saga.definition.name if saga.definition else "-")
    table.add_row("state", styled(saga.state))
    table.add_row("steps", progress(saga))
    table.add_row("input", json_text(saga.input, 200))
    table.add_row("created at", when(saga.created_at))
    table.add_row("updated at", when(saga.updated_at))
    if saga.cancel_requested:
        table.add_row("cancel requested", "true")
    if saga.error:
        table.add_row("error", Text(saga.error, style="red"))
    return table


def full(saga: Saga, with_timeline: bool = True) -> RenderableType:
    """Summary, steps and (optionally) the timeline."""
    parts: list[RenderableType] = [summary(saga), steps_table(saga)]
    if with_timeline:
        parts.append(timeline(saga))
    return Group(*parts)
