"""`concord health`: is the server up, and are its storage components ready."""

from __future__ import annotations

import typer

from concord_cli.output import Format, styled
from concord_cli.state import state_of


def health(ctx: typer.Context) -> None:
    """Liveness and readiness of the server (exit 7 when not ready)."""
    state = state_of(ctx)
    client = state.client()
    live = client.health.live()
    ready = client.health.ready()
    if state.output is not Format.table:
        state.printer.one({"live": live.to_dict(), "ready": ready.to_dict()}, [])
    else:
        state.printer.one(
            live,
            [("server", lambda _: state.settings().base_url), ("version", lambda v: v.version)],
        )
        state.printer.items(
            ready.components,
            [
                ("COMPONENT", lambda c: c.name),
                ("BACKEND", lambda c: c.backend),
                ("STATUS", lambda c: styled(c.status)),
                ("MESSAGE", lambda c: c.message),
            ],
        )
    if str(getattr(ready.status, "value", ready.status)) != "SERVING":
        raise typer.Exit(7)
