"""`--help` of every group and command, compared with the snapshots in tests/snapshots/.

CONCORD_UPDATE_SNAPSHOTS=1 rewrites them; review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from typer.main import get_command

from concord_cli.main import app
from tests.runner import Runner

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _paths(
    command: typer.core.TyperGroup | object, prefix: tuple[str, ...]
) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _paths(sub, (*prefix, name))
    return found


ALL = _paths(get_command(app), ())


@pytest.mark.parametrize("path", ALL, ids=lambda p: " ".join(p) or "concord")
def test_help_snapshot(cli: Runner, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help", env={"COLUMNS": "100", "TERMINAL_WIDTH": "100"})
    assert result.code == 0, result.err
    file = SNAPSHOTS / ("-".join(("concord", *path)) + ".txt")
    if os.environ.get("CONCORD_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        file.write_text(result.out)
    assert file.exists(), f"no snapshot {file.name}: run with CONCORD_UPDATE_SNAPSHOTS=1"
    assert result.out == file.read_text()


def test_every_snapshot_belongs_to_a_command() -> None:
    names = {"-".join(("concord", *path)) + ".txt" for path in ALL}
    assert {f.name for f in SNAPSHOTS.glob("*.txt")} == names


def test_groups_without_a_command_show_help(cli: Runner) -> None:
    for group in (
        "locks",
        "events",
        "sagas",
        "cache",
        "services",
        "rbac",
        "keys",
        "auth",
        "config",
    ):
        result = cli(group)
        assert "Usage: concord" in result.out + result.err


def test_shell_completion(cli: Runner) -> None:
    script = cli("--show-completion", env={"SHELL": "/bin/bash"})
    assert script.code == 0 and "_CONCORD_COMPLETE" in script.out.upper()

    def complete(*words: str) -> list[str]:
        env = {
            "_CONCORD_COMPLETE": "complete_bash",
            "COMP_WORDS": " ".join(("concord", *words)),
            "COMP_CWORD": str(len(words)),
        }
        return cli(env=env).out.split()

    assert complete("lo") == ["locks"]
    assert complete("locks", "re") == ["renew", "release"]
    assert "--follow" in complete("events", "tail", "--fo")
