"""Runs `concord` in-process (Typer's CliRunner) or as a process, against a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from concord_cli.main import app
from tests.server import Live

# No colour, fixed width, none of the variables that would force a terminal.
BASE_ENV = {"NO_COLOR": "1", "COLUMNS": "200", "FORCE_COLOR": None, "CONCORD_CONTEXT": None}


@dataclass
class Result:
    """Exit code and the two output streams."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Standard output as JSON."""
        return json.loads(self.out)

    def error(self) -> dict[str, Any]:
        """The `{"error": ...}` object a failure with -o json prints on stderr."""
        data: dict[str, Any] = json.loads(self.err)["error"]
        return data


class Runner:
    """`concord` with the live server's URL and key in the environment."""

    def __init__(self, live: Live, config: Path) -> None:
        self.live = live
        self.config = config
        self.env: dict[str, str | None] = {
            **BASE_ENV,
            "CONCORD_BASE_URL": live.base_url,
            "CONCORD_API_KEY": live.api_key,
            "CONCORD_TOKEN": None,
            "CONCORD_CONFIG": str(config),
        }

    def __call__(
        self, *args: str, env: Mapping[str, str | None] | None = None, stdin: str | None = None
    ) -> Result:
        """Run in-process and return what it printed."""
        runner = CliRunner()
        result = runner.invoke(
            app, list(args), env={**self.env, **(env or {})}, input=stdin, prog_name="concord"
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result.exit_code, result.stdout, result.stderr)

    def process_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a `concord` child process."""
        env = {k: v for k, v in os.environ.items() if k not in ("CONCORD_TOKEN", "FORCE_COLOR")}
        env.update({k: v for k, v in self.env.items() if v is not None})
        env.update(extra or {})
        return env

    def spawn(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start `python -m concord_cli ARGS` as a process (its output is captured)."""
        return subprocess.Popen(
            [sys.executable, "-m", "concord_cli", *args],
            env=self.process_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
