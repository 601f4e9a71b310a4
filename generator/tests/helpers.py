"""Helpers for the tests: temporary roots with inline contracts, and a build shortcut."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from concord_codegen.config import Config
from concord_codegen.diagnostics import Diagnostics
from concord_codegen.ir import Api, build_api, validate
from concord_codegen.loader import load

GENERATOR_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = GENERATOR_DIR.parent
REAL_SPEC = REPO_ROOT / "spec"
FIXTURES = GENERATOR_DIR / "tests" / "fixtures"

PREAMBLE = """syntax = "proto3";
package concord.v1;
import "concord/v1/options.proto";
import "google/api/annotations.proto";
import "google/api/field_behavior.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
"""


def write_root(root: Path, protos: dict[str, str]) -> Config:
    """A repository root with the real options.proto, third_party and the given protos."""
    proto_dir = root / "spec" / "proto" / "concord" / "v1"
    proto_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REAL_SPEC / "proto" / "concord" / "v1" / "options.proto", proto_dir)
    shutil.copytree(REAL_SPEC / "third_party", root / "spec" / "third_party", dirs_exist_ok=True)
    for name, text in protos.items():
        (proto_dir / name).write_text(text, encoding="utf-8")
    return Config(root=root)


def build(config: Config) -> tuple[Api, Diagnostics]:
    """Load, build and validate; all diagnostics together."""
    spec = load(config)
    assert not spec.diagnostics.errors, [str(d) for d in spec.diagnostics.errors]
    api, diagnostics = build_api(spec, config.api_version())
    diagnostics.extend(spec.diagnostics)
    diagnostics.extend(validate(api))
    return api, diagnostics


def fixture_protos(name: str) -> dict[str, str]:
    """The protos of `tests/fixtures/<name>/concord/v1/` by file name."""
    folder = FIXTURES / name / "concord" / "v1"
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.proto"))}


def python_in_generated_server(config: Config, script: str, *args: str) -> str:
    """Run `script` in a fresh interpreter that imports `concord_server` from `config.root`.

    The root gets a `concord_server/__init__.py`, so its package wins over any installed one.
    """
    src = config.root / "server" / "src"
    (src / "concord_server" / "__init__.py").touch()
    prelude = f"import sys\nsys.path.insert(0, {str(src)!r})\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + script, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
