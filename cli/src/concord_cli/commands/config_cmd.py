"""`concord config`: the profile file's contexts (list, use, set, delete, view)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from concord_cli.config import ConfigError, Context, Profile, default_path, load, save
from concord_cli.output import Format
from concord_cli.state import State, state_of

app = typer.Typer(
    help="Contexts in ~/.config/concord/config.toml: server URL and credential by name.",
    no_args_is_help=True,
)
Name = Annotated[str, typer.Argument(help="Context name.")]


def _path(state: State) -> Path:
    return state.config_path or default_path()


def _secret(value: str | None) -> str:
    return "-" if not value else value[:4] + "…" if len(value) > 8 else "****"


def _field(key: str) -> Callable[[Any], str]:
    return lambda data: "-" if data[key] is None else str(data[key])


def _rows(profile: Profile) -> list[dict[str, object]]:
    return [
        {
            "name": name,
            "current": name == profile.current_context,
            "base_url": ctx.base_url,
            "credential": "token" if ctx.token else "api key" if ctx.api_key else None,
            "timeout": ctx.timeout,
        }
        for name, ctx in sorted(profile.contexts.items())
    ]


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List contexts; * marks the current one."""
    state = state_of(ctx)
    state.printer.items(
        _rows(load(_path(state))),
        [
            ("", lambda r: "*" if r["current"] else ""),
            ("NAME", lambda r: str(r["name"])),
            ("BASE URL", lambda r: str(r["base_url"] or "-")),
            ("CREDENTIAL", lambda r: str(r["credential"] or "-")),
        ],
    )


@app.command()
def use(ctx: typer.Context, name: Name) -> None:
    """Make a context the current one."""
    state = state_of(ctx)
    profile = load(_path(state))
    if name not in profile.contexts:
        raise ConfigError(f"no context named {name!r}")
    profile.current_context = name
    save(_path(state), profile)
    state.stderr.print(f"current context: {name}")


@app.command("set")
def set_(
    ctx: typer.Context,
    name: Name,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Server URL.")] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", help="API key.")] = None,
    token: Annotated[str | None, typer.Option("--token", help="Bearer JWT.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds.")] = None,
    use_it: Annotated[bool, typer.Option("--use", help="Make it current too.")] = False,
) -> None:
    """Create or update a context (a new credential replaces the old one)."""
    state = state_of(ctx)
    profile = load(_path(state))
    old = profile.contexts.get(name, Context())
    if api_key or token:
        old = Context(base_url=old.base_url, timeout=old.timeout)
    new = old.merged(Context(base_url=base_url, api_key=api_key, token=token, timeout=timeout))
    profile.contexts[name] = new
    if use_it or profile.current_context is None:
        profile.current_context = name
    save(_path(state), profile)
    state.stderr.print(f"context {name} saved in {_path(state)}")


@app.command()
def delete(ctx: typer.Context, name: Name) -> None:
    """Remove a context."""
    state = state_of(ctx)
    profile = load(_path(state))
    if profile.contexts.pop(name, None) is None:
        raise ConfigError(f"no context named {name!r}")
    if profile.current_context == name:
        profile.current_context = None
    save(_path(state), profile)
    state.stderr.print(f"context {name} deleted")


@app.command()
def view(ctx: typer.Context) -> None:
    """Show the settings in effect (secrets shortened) and where each comes from."""
    state = state_of(ctx)
    s = state.settings()
    data = {
        "config_file": str(s.config_path),
        "context": s.context,
        "base_url": s.base_url,
        "api_key": _secret(s.api_key) if s.api_key else None,
        "token": _secret(s.token) if s.token else None,
        "timeout": s.timeout,
    }
    if state.output is not Format.table:
        state.printer.one(data, [])
        return
    state.printer.one(data, [(key, _field(key)) for key in data])
