"""`concord auth`: whoami, token."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from concord_cli.output import enum_text, when
from concord_cli.parsing import duration
from concord_cli.state import state_of

app = typer.Typer(help="Who you are, and short-lived tokens.", no_args_is_help=True)


@app.command()
def whoami(ctx: typer.Context) -> None:
    """Show the subject, credential, scopes and roles of the current credential."""
    state = state_of(ctx)
    me = state.client().auth.whoami()
    state.printer.one(
        me,
        [
            ("subject", lambda m: m.subject),
            ("credential", lambda m: enum_text(m.credential_type)),
            ("key id", lambda m: m.key_id or "-"),
            ("scopes", lambda m: ", ".join(m.scopes) or "-"),
            ("roles", lambda m: ", ".join(m.roles) or "-"),
            ("expires", lambda m: when(m.expires_at)),
            ("server", lambda m: state.settings().base_url),
        ],
    )


@app.command()
def token(
    ctx: typer.Context,
    ttl: Annotated[
        timedelta | None, typer.Option("--ttl", parser=duration, help="Lifetime, e.g. 15m.")
    ] = None,
    scopes: Annotated[
        list[str] | None, typer.Option("--scope", help="Narrow the scopes (repeatable).")
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Print only the token (for CONCORD_TOKEN=$(...)).")
    ] = False,
) -> None:
    """Issue a JWT for the current credential (with the same subject, or fewer scopes)."""
    state = state_of(ctx)
    issued = state.client().auth.issue_token(ttl=ttl, scopes=scopes or ())
    if raw:
        state.printer.raw(issued.access_token)
        return
    state.printer.one(
        issued,
        [
            ("token", lambda t: t.access_token),
            ("type", lambda t: t.token_type),
            ("expires", lambda t: when(t.expires_at)),
        ],
    )
