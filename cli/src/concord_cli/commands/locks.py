"""`concord locks`: acquire, renew, release, get, list, watch, run."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from concord import Lock, WatchLocksResponse, default_owner
from rich.text import Text

from concord_cli.commands import lockrun
from concord_cli.commands.common import TTL, Count, Limit, limited
from concord_cli.output import Column, span, styled, until, when
from concord_cli.parsing import duration
from concord_cli.state import state_of

app = typer.Typer(help="Distributed locks with fencing tokens.", no_args_is_help=True)
app.command("run")(lockrun.run)

COLUMNS: list[Column] = [
    ("NAME", lambda lock: lock.name),
    ("OWNER", lambda lock: lock.owner),
    ("TOKEN", lambda lock: str(lock.fencing_token)),
    ("EXPIRES IN", lambda lock: until(lock.expires_at)),
    ("ACQUIRED", lambda lock: when(lock.acquired_at)),
]
FIELDS: list[Column] = [
    ("name", lambda lock: lock.name),
    ("owner", lambda lock: lock.owner),
    ("fencing token", lambda lock: str(lock.fencing_token)),
    ("ttl", lambda lock: span(lock.ttl)),
    ("acquired at", lambda lock: when(lock.acquired_at)),
    ("expires at", lambda lock: f"{when(lock.expires_at)} (in {until(lock.expires_at)})"),
]

Name = Annotated[str, typer.Argument(help="Lock name.")]
Owner = Annotated[str, typer.Option("--owner", help="Holder identity, as given at acquire.")]
Token = Annotated[int, typer.Option("--token", help="Fencing token of the grant.")]


def _show(ctx: typer.Context, lock: Lock | None) -> None:
    if lock is not None:
        state_of(ctx).printer.one(lock, FIELDS)


@app.command()
def acquire(
    ctx: typer.Context,
    name: Name,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Holder identity (default: host-pid-random).")
    ] = None,
    ttl: TTL = timedelta(seconds=30),
    wait: Annotated[
        timedelta | None,
        typer.Option("--wait", parser=duration, help="Wait in line up to this long (max 300s)."),
    ] = None,
) -> None:
    """Acquire a lock; prints the grant with its fencing token. Without --wait a held lock
    fails at once (exit 6)."""
    state = state_of(ctx)
    with state.waiting(f"waiting for lock {name}"):
        lock = state.client().locks.acquire(name, owner or default_owner(), ttl, wait_timeout=wait)
    _show(ctx, lock.lock)


@app.command()
def renew(
    ctx: typer.Context, name: Name, owner: Owner, token: Token, ttl: TTL = timedelta(seconds=30)
) -> None:
    """Extend a hold to TTL from now (holder only)."""
    _show(ctx, state_of(ctx).client().locks.renew(name, owner, token, ttl).lock)


@app.command()
def release(ctx: typer.Context, name: Name, owner: Owner, token: Token) -> None:
    """Release a lock (holder only)."""
    _show(ctx, state_of(ctx).client().locks.release(name, owner, token).lock)


@app.command()
def get(ctx: typer.Context, name: Name) -> None:
    """Show a lock's holder (exit 5 when nobody holds it)."""
    _show(ctx, state_of(ctx).client().locks.get(name).lock)


@app.command("list")
def list_(
    ctx: typer.Context,
    prefix: Annotated[str, typer.Option("--prefix", help="Only names with this prefix.")] = "",
    limit: Limit = None,
) -> None:
    """List held locks, in name order."""
    state = state_of(ctx)
    locks = limited(state.client().locks.list(prefix=prefix), limit)
    state.printer.items(locks, COLUMNS)


def event_line(event: WatchLocksResponse) -> Text:
    """One watch event as a line: time, type, name, owner, token."""
    lock = event.lock
    line = Text(when(event.occurred_at) + "  ")
    line.append_text(styled(event.type))
    if lock is not None:
        line.append(f"  {lock.name}  owner={lock.owner}  token={lock.fencing_token}")
    return line


@app.command()
def watch(
    ctx: typer.Context,
    prefix: Annotated[str, typer.Option("--prefix", help="Only names with this prefix.")] = "",
    count: Count = None,
) -> None:
    """Stream lock changes (acquired, released, expired) as they happen."""
    state = state_of(ctx)
    with state.client().locks.watch(prefix=prefix) as stream:
        for seen, event in enumerate(stream, start=1):
            state.printer.event(event, event_line(event))
            if count is not None and seen >= count:
                break
