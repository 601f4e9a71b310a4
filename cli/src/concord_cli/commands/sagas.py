"""`concord sagas`: start (-f saga.yaml, --wait), list, get, cancel."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from concord import Saga, SagaDefinition, SagaState

from concord_cli.commands import sagaview
from concord_cli.commands.common import Limit, limited
from concord_cli.commands.sagawait import wait_for
from concord_cli.errors import CLIError, Exit
from concord_cli.output import Format
from concord_cli.parsing import duration, json_value
from concord_cli.state import State, state_of

app = typer.Typer(
    help="Sagas: start from a YAML file and follow their steps.", no_args_is_help=True
)
SagaId = Annotated[str, typer.Argument(help="Saga id.")]


def load_file(path: Path) -> dict[str, Any]:
    """A saga file: a definition (`name`, `steps`), or `{saga_id?, definition, input?}`."""
    try:
        text = (
            path.read_text(encoding="utf-8")
            if str(path) != "-"
            else typer.get_text_stream("stdin").read()
        )
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as error:
        raise CLIError(f"{path}: {error}", Exit.USAGE) from error
    if not isinstance(data, dict):
        raise CLIError(f"{path}: expected a mapping with a saga definition", Exit.USAGE)
    if "definition" in data:
        return data
    return {"definition": data}


def show(state: State, saga: Saga | None) -> None:
    """A saga: summary, steps and timeline; or its JSON/YAML."""
    if saga is None:
        return
    if state.output is Format.table:
        state.stdout.print(sagaview.full(saga))
    else:
        state.printer.one(saga, [])


@app.command()
def start(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Option("--file", "-f", help="Saga YAML (or JSON) file; - reads stdin.")
    ],
    saga_id: Annotated[
        str | None, typer.Option("--id", help="Saga id (default: the file's, else NAME-random).")
    ] = None,
    input_: Annotated[
        str | None, typer.Option("--input", help="Input JSON (over the file's); @FILE, -.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Follow the steps until the saga ends.")
    ] = False,
    wait_timeout: Annotated[
        timedelta | None,
        typer.Option("--wait-timeout", parser=duration, help="Give up waiting after (exit 12)."),
    ] = None,
) -> None:
    """Start a saga. With --wait, show each step's progress live, and exit 0 when it
    completes, 11 when it ends compensated or failed."""
    state = state_of(ctx)
    spec = load_file(file)
    definition = SagaDefinition.from_dict(spec["definition"])
    sid = saga_id or spec.get("saga_id") or f"{definition.name}-{uuid.uuid4().hex[:8]}"
    payload = json_value(input_) if input_ is not None else spec.get("input")
    started = state.client().sagas.start(sid, definition, input=payload).saga
    if not wait or started is None:
        show(state, started)
        return
    final = wait_for(state, started, wait_timeout)
    show(state, final)
    if final.state != SagaState.COMPLETED:
        raise typer.Exit(Exit.SAGA_FAILED)


@app.command("list")
def list_(
    ctx: typer.Context,
    state_: Annotated[
        str | None,
        typer.Option("--state", help="RUNNING, COMPENSATING, COMPLETED, COMPENSATED or FAILED."),
    ] = None,
    limit: Limit = None,
) -> None:
    """List sagas, newest first."""
    state = state_of(ctx)
    wanted = None
    if state_ is not None:
        if state_.upper() not in sagaview.FINAL | {"RUNNING", "COMPENSATING"}:
            raise typer.BadParameter(f"unknown state {state_!r}", param_hint="--state")
        wanted = SagaState(state_.upper())
    sagas = limited(state.client().sagas.list(state=wanted), limit)
    state.printer.items(sagas, sagaview.COLUMNS)


@app.command()
def get(ctx: typer.Context, saga_id: SagaId) -> None:
    """Show a saga: its steps and their timeline, compensations included."""
    state = state_of(ctx)
    show(state, state.client().sagas.get(saga_id).saga)


@app.command()
def cancel(
    ctx: typer.Context,
    saga_id: SagaId,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the saga).")] = "",
) -> None:
    """Cancel a running saga: completed steps are compensated."""
    state = state_of(ctx)
    show(state, state.client().sagas.cancel(saga_id, reason=reason).saga)
