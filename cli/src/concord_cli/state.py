"""What every command shares: settings, the SDK client, the output printer and consoles."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import typer
from concord import Concord
from rich.console import Console

from concord_cli.config import Context
from concord_cli.output import Format, Printer
from concord_cli.settings import Settings, resolve


def make_console(file: IO[str], no_color: bool) -> Console:
    """A console with colour only on a terminal; off for NO_COLOR or --no-color.

    Off a terminal, lines are not wrapped at 80 columns (scripts read them)."""
    tty = file.isatty()
    width = None if tty else int(os.environ.get("COLUMNS") or 200)
    return Console(file=file, no_color=no_color or None, width=width, highlight=False)


@dataclass
class State:
    """The global options of one invocation and what is made from them."""

    flags: Context = field(default_factory=Context)
    context: str | None = None
    config_path: Path | None = None
    output: Format = Format.table
    no_color: bool = False
    _settings: Settings | None = None
    _client: Concord | None = None

    def __post_init__(self) -> None:
        self.stdout = make_console(sys.stdout, self.no_color)
        self.stderr = make_console(sys.stderr, self.no_color)
        self.printer = Printer(self.stdout, self.output)

    @property
    def scripted(self) -> bool:
        """True with -o json|yaml: no spinners, errors as data."""
        return self.output is not Format.table

    def settings(self) -> Settings:
        """The resolved connection settings (read once)."""
        if self._settings is None:
            self._settings = resolve(self.flags, self.context, self.config_path)
        return self._settings

    def client(self) -> Concord:
        """The SDK client, made on first use and closed when the command ends."""
        if self._client is None:
            s = self.settings()
            self._client = Concord(
                base_url=s.base_url,
                api_key=s.api_key,
                bearer_token=s.token,
                timeout=s.timeout,
            )
        return self._client

    @contextlib.contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        """A spinner on stderr while something waits (on a terminal, and not with -o json|yaml)."""
        if self.scripted or not self.stderr.is_terminal:
            yield
            return
        with self.stderr.status(what):
            yield

    def close(self) -> None:
        """Close the client's connections."""
        if self._client is not None:
            self._client.close()
            self._client = None


def state_of(ctx: typer.Context) -> State:
    """The State the root callback stored on the Click context."""
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        raise RuntimeError("the root callback did not run")
    return obj
