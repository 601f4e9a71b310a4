"""The Go gRPC target: plugin lookup, the status -> catalogue table, and protoc's Go output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from concord_codegen.config import Config
from concord_codegen.pipeline import Generator
from concord_codegen.targets.go.grpc import (
    CODES,
    PB_DIR,
    PLUGINS,
    TARGET,
    TOOLS_BIN,
    GoPluginMissingError,
    find_plugin,
    status_codes,
)
from concord_codegen.targets.go.sdk import GO_HEADER
from tests.conftest import MakeRoot
from tests.helpers import REAL_SPEC, REPO_ROOT, build, fixture_protos

LOCAL_BIN = REPO_ROOT / TOOLS_BIN
has_plugins = all(
    (LOCAL_BIN / p).is_file() or shutil.which(p) is not None for p in PLUGINS
) and bool(shutil.which("gofmt"))


def test_missing_plugin_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GoPluginMissingError, match=r"protoc-gen-go not found.*scripts/setup.sh"):
        find_plugin(tmp_path, "protoc-gen-go")


def test_plugin_in_tools_bin_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / TOOLS_BIN / "protoc-gen-go"
    local.parent.mkdir(parents=True)
    local.write_text("#!/bin/sh\n")
    local.chmod(0o755)
    monkeypatch.setenv("PATH", "")
    assert find_plugin(tmp_path, "protoc-gen-go") == local


@pytest.fixture(scope="module")
def real_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    root = tmp_path_factory.mktemp("real-go-grpc")
    shutil.copytree(REAL_SPEC, root / "spec", ignore=shutil.ignore_patterns("openapi"))
    return Config(root=root)


def test_bare_statuses_map_to_unambiguous_codes(real_config: Config) -> None:
    api, _ = build(real_config)
    table = status_codes(api)
    assert table["UNAVAILABLE"] == "UNAVAILABLE"
    assert table["RESOURCE_EXHAUSTED"] == "RATE_LIMITED"  # the retryable one of two
    assert "ABORTED" not in table and "FAILED_PRECONDITION" not in table


@pytest.mark.skipif(not has_plugins, reason="no protoc-gen-go(-grpc): run scripts/setup.sh python")
def test_generates_the_checked_in_go_code(
    real_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{LOCAL_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    outcome = Generator(real_config, [TARGET]).build()
    assert outcome.ok, [str(d) for d in outcome.diagnostics.errors]
    files = {f.path: f.content for f in outcome.files}
    assert {CODES, f"{PB_DIR}/locks.pb.go"} <= set(files)
    assert not [p for p in files if p.endswith("_grpc.pb.go")]  # the transport invokes by path
    for path, text in files.items():
        assert text.startswith(GO_HEADER), path
        assert (REPO_ROOT / path).read_text(encoding="utf-8") == text, f"{path} drifted"


def test_contract_without_go_package_has_no_go_code(make_root: MakeRoot) -> None:
    config = make_root(fixture_protos("widgets"))
    outcome = Generator(config, [TARGET]).build()
    assert outcome.ok, [str(d) for d in outcome.diagnostics.errors]
    assert outcome.files == []
