"""`concord health`: is the server up, and are its storage components ready."""

from __future__ import annotations

import contextlib
from typing import Any

import typer
from concord import Concord, ConcordAPIError, GetReadinessResponse

from concord_cli.output import Format, styled
from concord_cli.state import state_of


def readiness(client: Concord) -> GetReadinessResponse:
    """The readiness answer, asked once: a server that is not ready answers NOT_SERVING with
    HTTP 503 and its components, which the SDK raises as UNAVAILABLE (and would retry)."""
    try:
        return client.health.ready(max_retries=0)
    except ConcordAPIError as err:
        body: Any = None
        if err.status == 503 and err.response is not None:
            with contextlib.suppress(ValueError):  # not JSON: the error stands
                body = err.response.json()
        if isinstance(body, dict) and "components" in body:
            return GetReadinessResponse.from_dict(body)
        raise


def health(ctx: typer.Context) -> None:
    """Liveness and readiness of the server (exit 7 when not ready)."""
    state = state_of(ctx)
    client = state.client()
    live = client.health.live()
    ready = readiness(client)
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
