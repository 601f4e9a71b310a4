"""`concord keys`: create, list, get, revoke API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from concord import ApiKey

from concord_cli.commands.common import Limit, limited
from concord_cli.output import Column, when
from concord_cli.parsing import duration
from concord_cli.state import state_of

app = typer.Typer(help="API keys: the secret is shown once, at creation.", no_args_is_help=True)
KeyId = Annotated[str, typer.Argument(help="Key id.")]
COLUMNS: list[Column] = [
    ("ID", lambda k: k.key_id),
    ("NAME", lambda k: k.name),
    ("SUBJECT", lambda k: k.subject),
    ("SCOPES", lambda k: ",".join(k.scopes)),
    ("EXPIRES", lambda k: when(k.expires_at)),
    ("REVOKED", lambda k: "yes" if k.revoked else ""),
]


def _show(ctx: typer.Context, key: ApiKey | None) -> None:
    if key is not None:
        state_of(ctx).printer.items([key], COLUMNS)


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the key.")],
    subject: Annotated[str, typer.Option("--subject", help="Who the key acts for.")],
    scopes: Annotated[
        list[str] | None, typer.Option("--scope", help="Action pattern it may use (repeatable).")
    ] = None,
    ttl: Annotated[
        timedelta | None, typer.Option("--ttl", parser=duration, help="Expire after this long.")
    ] = None,
) -> None:
    """Create an API key; prints its secret, which the server does not keep."""
    state = state_of(ctx)
    created = state.client().auth.create_api_key(name, subject, scopes or ["*"], ttl=ttl)
    state.printer.one(
        created,
        [
            ("key id", lambda c: c.api_key.key_id if c.api_key else "-"),
            ("subject", lambda c: c.api_key.subject if c.api_key else "-"),
            ("scopes", lambda c: ",".join(c.api_key.scopes) if c.api_key else "-"),
            ("expires", lambda c: when(c.api_key.expires_at) if c.api_key else "-"),
            ("secret", lambda c: c.secret),
        ],
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    subject: Annotated[str, typer.Option("--subject", help="Only this subject's keys.")] = "",
    limit: Limit = None,
) -> None:
    """List API keys (never their secrets)."""
    state = state_of(ctx)
    state.printer.items(limited(state.client().auth.list_api_keys(subject=subject), limit), COLUMNS)


@app.command()
def get(ctx: typer.Context, key_id: KeyId) -> None:
    """Show an API key."""
    _show(ctx, state_of(ctx).client().auth.get_api_key(key_id).api_key)


@app.command()
def revoke(ctx: typer.Context, key_id: KeyId) -> None:
    """Revoke an API key: it stops working at once."""
    _show(ctx, state_of(ctx).client().auth.revoke_api_key(key_id).api_key)
