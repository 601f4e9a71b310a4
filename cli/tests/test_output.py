"""Parsing and rendering helpers, and that colour is off when stdout is not a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import typer

from concord_cli.output import span, until
from concord_cli.parsing import duration, json_value, pairs
from tests.runner import Runner


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), ("1.5", 1.5), ("1d", 86400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "5x", "s30", "1m 30s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        duration(text)


def test_values_and_pairs() -> None:
    assert json_value('{"a": [1]}') == {"a": [1]}
    assert json_value("hello") == "hello"
    assert json_value("null") is None
    assert pairs(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(typer.BadParameter):
        pairs(["novalue"])


def test_spans() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert until(now + timedelta(seconds=75), now) == "1m15s"
    assert until(now - timedelta(seconds=1), now) == "expired"
    assert span(timedelta(milliseconds=250)) == "250ms"
    assert span(timedelta(hours=2, minutes=5)) == "2h05m"


def test_no_colour_codes_off_a_terminal(cli: Runner, unique: str) -> None:
    cli("locks", "acquire", unique, "--owner", "w")
    env = {"NO_COLOR": None}  # not a terminal is enough
    out = cli("locks", "list", "--prefix", unique, env=env).out
    assert unique in out and "\x1b[" not in out
    err = cli("locks", "acquire", unique, "--owner", "x", env=env).err
    assert "LOCK_CONFLICT" in err and "\x1b[" not in err


def test_version(cli: Runner) -> None:
    assert cli("--version").out.strip() == "concord 0.1.0"


def _on_a_terminal(cli: Runner, *args: str, env: dict[str, str] | None = None) -> str:
    """Run `concord ARGS` with stdout and stderr on a pseudo-terminal; what it printed."""
    leader, follower = pty.openpty()
    extra = {"NO_COLOR": "", "TERM": "xterm-256color", "COLUMNS": "120", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "concord_cli", *args],
        env={k: v for k, v in cli.process_env(extra).items() if v != ""},
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(120)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_colour_on_a_terminal_unless_turned_off(cli: Runner, unique: str) -> None:
    cli("locks", "acquire", unique, "--owner", "w")
    coloured = _on_a_terminal(cli, "locks", "acquire", unique, "--owner", "x")
    assert "LOCK_CONFLICT" in coloured and "\x1b[1;31m" in coloured  # bold red "error:"
    plain = _on_a_terminal(cli, "--no-color", "locks", "acquire", unique, "--owner", "x")
    assert "LOCK_CONFLICT" in plain and "\x1b[31m" not in plain and "\x1b[1;31m" not in plain
