"""`concord cache`: get, set, del, watch."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from concord import CacheEntry, WatchCacheResponse
from rich.text import Text

from concord_cli.commands.common import Count
from concord_cli.output import Column, Format, data_of, dump, json_text, styled, until, when
from concord_cli.parsing import duration, json_value
from concord_cli.state import state_of

app = typer.Typer(help="The shared cache: namespaced JSON values with ETags.", no_args_is_help=True)
Namespace = Annotated[str, typer.Argument(help="Namespace.")]
Key = Annotated[str, typer.Argument(help="Key.")]
FIELDS: list[Column] = [
    ("namespace", lambda e: e.namespace),
    ("key", lambda e: e.key),
    ("value", lambda e: json_text(e.value, 500)),
    ("etag", lambda e: e.etag),
    ("updated at", lambda e: when(e.updated_at)),
    ("expires in", lambda e: until(e.expires_at)),
]


@app.command()
def get(
    ctx: typer.Context,
    namespace: Namespace,
    key: Key,
    value_only: Annotated[
        bool, typer.Option("--value", help="Print only the value, as JSON.")
    ] = False,
) -> None:
    """Show an entry (exit 5 when missing)."""
    state = state_of(ctx)
    entry: CacheEntry | None = state.client().cache.get(namespace, key).entry
    if entry is None:
        return
    if value_only:
        state.printer.raw(dump(data_of(entry.value), Format.json))
    else:
        state.printer.one(entry, FIELDS)


@app.command("set")
def set_(
    ctx: typer.Context,
    namespace: Namespace,
    key: Key,
    value: Annotated[
        str, typer.Argument(help="JSON value (other text is stored as a string); @FILE, -.")
    ],
    ttl: Annotated[
        timedelta | None, typer.Option("--ttl", parser=duration, help="Expire after this long.")
    ] = None,
    if_match: Annotated[
        str, typer.Option("--if-match", help="Only if the entry has this ETag (exit 6 if not).")
    ] = "",
    create_only: Annotated[
        bool, typer.Option("--create-only", help="Only if the key does not exist yet.")
    ] = False,
) -> None:
    """Set an entry; prints it with its new ETag."""
    state = state_of(ctx)
    entry = (
        state.client()
        .cache.set(
            namespace, key, json_value(value), ttl=ttl, if_match=if_match, create_only=create_only
        )
        .entry
    )
    if entry is not None:
        state.printer.one(entry, FIELDS)


@app.command("del")
def delete(
    ctx: typer.Context,
    namespace: Namespace,
    key: Annotated[str | None, typer.Argument(help="Key (omit with --prefix).")] = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Delete every key with this prefix.")
    ] = None,
    if_match: Annotated[str, typer.Option("--if-match", help="Only with this ETag.")] = "",
) -> None:
    """Delete an entry, or every entry under --prefix."""
    state = state_of(ctx)
    cache = state.client().cache
    if (key is None) == (prefix is None):
        raise typer.BadParameter("give a KEY or --prefix, not both")
    if prefix is not None:
        count = cache.delete_by_prefix(namespace, prefix=prefix).deleted_count
        state.printer.one(
            {"deleted_count": count}, [("deleted", lambda d: str(d["deleted_count"]))]
        )
        return
    assert key is not None
    deleted = cache.delete(namespace, key, if_match=if_match).deleted
    state.printer.one({"deleted": deleted}, [("deleted", lambda d: str(d["deleted"]).lower())])


def event_line(event: WatchCacheResponse) -> Text:
    """One cache change on a line."""
    line = Text(f"{when(event.occurred_at)}  ")
    line.append_text(styled(event.type))
    line.append(f"  {event.namespace}/{event.key}  etag={event.etag or '-'}")
    return line


@app.command()
def watch(
    ctx: typer.Context,
    namespace: Namespace,
    prefix: Annotated[str, typer.Option("--prefix", help="Only keys with this prefix.")] = "",
    count: Count = None,
) -> None:
    """Stream changes of a namespace (set, deleted, expired)."""
    state = state_of(ctx)
    with state.client().cache.watch(namespace, prefix=prefix) as stream:
        for seen, event in enumerate(stream, start=1):
            state.printer.event(event, event_line(event))
            if count is not None and seen >= count:
                break
