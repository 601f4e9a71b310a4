"""The root Typer app: global options and the error handling every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from concord import ConcordError

# Typer vendors Click; its group's invoke() is typed with that Click's Context.
from typer import _click as click
from typer.core import TyperGroup

from concord_cli import __version__
from concord_cli.config import ConfigError, Context
from concord_cli.errors import CLIError, exit_code, report
from concord_cli.output import Format
from concord_cli.state import State


class ConcordGroup(TyperGroup):
    """The root group: turns SDK and CLI errors into a report on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConcordError, CLIError, ConfigError) as error:
            state = ctx.obj if isinstance(ctx.obj, State) else State()
            report(error, state.stderr, as_json=state.scripted)
            raise typer.Exit(int(exit_code(error))) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


app = typer.Typer(
    name="concord",
    cls=ConcordGroup,
    help="Concord from the command line: locks, sagas, event streams, cache, discovery, RBAC.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"concord {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Server URL [env: CONCORD_BASE_URL].")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="API key [env: CONCORD_API_KEY].")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="Bearer JWT [env: CONCORD_TOKEN].")
    ] = None,
    context: Annotated[
        str | None,
        typer.Option("--context", help="Context of the profile file [env: CONCORD_CONTEXT]."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Profile file [env: CONCORD_CONFIG; default ~/.config/concord/config.toml].",
        ),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds per request (default 60).")
    ] = None,
    output: Annotated[
        Format, typer.Option("--output", "-o", help="Output format.", case_sensitive=False)
    ] = Format.table,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour, even on a terminal [env: NO_COLOR].")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Concord from the command line."""
    flags = Context(base_url=base_url, api_key=api_key, token=token, timeout=timeout)
    state = State(flags, context, config, output, no_color)
    ctx.obj = state
    ctx.call_on_close(state.close)
