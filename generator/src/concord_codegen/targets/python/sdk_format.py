"""Run the Python formatter over generated files: `ruff check --select I --fix`, `ruff format`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from concord_codegen.targets.base import GeneratedFile, TargetError

# Settings pinned here (with --isolated) so the output does not depend on any nearby config.
RUFF_SETTINGS = [
    "--isolated",
    "--line-length=100",
    "--target-version=py310",
    "--config=lint.isort.known-first-party=['concord']",
]


def ruff_executable() -> str:
    """`ruff` next to the running interpreter (the project venv), else on PATH."""
    beside = Path(sys.executable).with_name("ruff")
    if beside.is_file():
        return str(beside)
    found = shutil.which("ruff")
    if found is None:
        raise TargetError("python_sdk: ruff is needed to format the generated code")
    return found


def format_python(files: list[GeneratedFile]) -> list[GeneratedFile]:
    """The files with every `.py` one import-sorted and formatted; others unchanged."""
    python = [f for f in files if f.path.endswith(".py")]
    if not python:
        return files
    with tempfile.TemporaryDirectory(prefix="concord-gen-ruff-") as tmp:
        root = Path(tmp)
        for file in python:
            target = root / file.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.content, encoding="utf-8", newline="\n")
        ruff = ruff_executable()
        _run([ruff, "check", *RUFF_SETTINGS, "--select=I", "--fix", "--quiet", "."], root)
        _run([ruff, "format", *RUFF_SETTINGS, "--quiet", "."], root)
        formatted = {f.path: (root / f.path).read_text(encoding="utf-8") for f in python}
    return [GeneratedFile(f.path, formatted.get(f.path, f.content)) for f in files]


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stdout + result.stderr).strip()
        raise TargetError(f"python_sdk: {' '.join(command[:2])} failed: {detail[:2000]}")
