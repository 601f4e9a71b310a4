"""`sagas start --wait`: follow a saga until it ends, showing each step as it moves."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from concord import Saga
from rich.console import Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from concord_cli.commands import sagaview
from concord_cli.errors import CLIError, Exit
from concord_cli.output import Format, enum_text, styled
from concord_cli.state import State

POLL = 0.5  # seconds between GetSaga calls while waiting (the contract has no saga watch)


def _marks(saga: Saga) -> dict[str, tuple[str, int, int]]:
    marks = {
        step.name: (enum_text(step.state), step.attempts, step.compensation_attempts)
        for step in saga.steps
    }
    marks["\0saga"] = (enum_text(saga.state), 0, 0)
    return marks


def _lines(before: dict[str, tuple[str, int, int]], saga: Saga) -> list[Text]:
    """A line per step (and for the saga) whose state or attempts changed."""
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    out: list[Text] = []
    after = _marks(saga)
    for step in saga.steps:
        if before.get(step.name) != after[step.name]:
            line = Text(f"{stamp}  step {step.name}: ")
            line.append_text(styled(step.state))
            detail = sagaview.last_event(step)
            line.append(f"  ({detail})" if detail else "")
            out.append(line)
    if before.get("\0saga") != after["\0saga"]:
        line = Text(f"{stamp}  saga {saga.saga_id}: ")
        line.append_text(styled(saga.state))
        out.append(line)
    return out


def _view(saga: Saga) -> Group:
    head = Spinner(
        "dots",
        text=Text(
            f"saga {saga.saga_id}: {enum_text(saga.state)} ({sagaview.progress(saga)} steps)"
        ),
    )
    return Group(head, sagaview.steps_table(saga))


def wait_for(state: State, saga: Saga, timeout: timedelta | None) -> Saga:
    """Poll the saga until it is final; live table on a terminal, else a line per change."""
    deadline = None if timeout is None else time.monotonic() + timeout.total_seconds()
    client = state.client()
    live = state.output is Format.table and state.stdout.is_terminal
    lines = state.output is Format.table and not live
    marks: dict[str, tuple[str, int, int]] = {}
    with Live(_view(saga), console=state.stdout, transient=True) if live else _Quiet() as view:
        while True:
            if lines:
                for line in _lines(marks, saga):
                    state.stdout.print(line)
            marks = _marks(saga)
            if view is not None:
                view.update(_view(saga))
            if sagaview.is_final(saga):
                return saga
            if deadline is not None and time.monotonic() >= deadline:
                raise CLIError(
                    f"saga {saga.saga_id} is still {enum_text(saga.state)}", Exit.TIMEOUT
                )
            time.sleep(POLL)
            fresh = client.sagas.get(saga.saga_id).saga
            saga = fresh if fresh is not None else saga


class _Quiet:
    """No live display."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
