"""`make compat` runs the baseline's cases against this checkout's server: a server with a
deliberate breaking change (a response field renamed) must fail it, the real one must pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
COMPAT = ROOT / "scripts" / "compat.sh"
# Lock cases whose every step reads `fencing_token`, fast on any storage.
CASES = "locks/acquire-get-release,locks/fencing-tokens-increase-across-reacquire"
BROKEN_SERVER = '''
"""The Concord server with one deliberate breaking change: `fencing_token` is called
`fence_token` in every JSON answer."""
import runpy
from typing import Any

from concord_server.api import codec

_to_json = codec.to_json


def _renamed(value: Any) -> Any:
    if isinstance(value, dict):
        renamed = {"fencing_token": "fence_token"}
        return {renamed.get(k, k): _renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v) for v in value]
    return value


codec.to_json = lambda message, *args, **kwargs: _renamed(_to_json(message, *args, **kwargs))
runpy.run_module("concord_server", run_name="__main__", alter_sys=True)
'''


def compat(server_python: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CONCORD_COMPAT_SELF_TESTS": "0",
        "CONCORD_COMPAT_CASES": CASES,
        "CONCORD_COMPAT_SERVER_PYTHON": server_python,
        "TMPDIR": str(tmp_path),
    }
    return subprocess.run(
        ["bash", str(COMPAT)],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def broken_python(tmp_path: Path) -> str:
    """An interpreter stand-in the runner starts as `<it> -m concord_server`: it runs the
    broken server instead (the arguments are ignored)."""
    script = tmp_path / "broken_server.py"
    script.write_text(BROKEN_SERVER, encoding="utf-8")
    wrapper = tmp_path / "broken-python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return str(wrapper)


def test_old_cases_catch_a_deliberately_broken_server(tmp_path: Path) -> None:
    broken = compat(broken_python(tmp_path), tmp_path)
    output = broken.stdout + broken.stderr
    assert broken.returncode == 1, output
    assert "BREAKING: cases of" in output
    assert "2 FAIL" in output
    assert "fencing_token" in output


def test_the_real_server_passes_the_same_cases(tmp_path: Path) -> None:
    real = compat(sys.executable, tmp_path)
    output = real.stdout + real.stderr
    assert real.returncode == 0, output
    assert "2 PASS" in output
