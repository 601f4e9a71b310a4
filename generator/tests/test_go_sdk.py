"""The Go SDK target: naming, golden output of the fixture, and a Go build of what it writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from concord_codegen.config import Config
from concord_codegen.pipeline import Generator
from concord_codegen.targets.base import GeneratedFile
from concord_codegen.targets.go.names import exported, parameter, unexported
from concord_codegen.targets.go.sdk import GO_HEADER, SDK_DIR, TARGET, runtime_files
from tests.conftest import MakeRoot
from tests.helpers import REPO_ROOT, fixture_protos
from tests.inline_protos import COMMON
from tests.test_golden import GOLDEN, update_requested

needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="the Go toolchain is not on PATH")
# Hand-written files of the adapter that the generated op table builds against.
# The adapter loop and result encoding (helpers.go needs the hand-written lock and worker code,
# which a fixture SDK does not have).
ADAPTER_HAND_WRITTEN = ("adapter.go", "contract.go")


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("key_id", "KeyID"),
        ("ApiKey", "APIKey"),
        ("etag", "ETag"),
        ("ttl", "TTL"),
        ("WhoAmIResponse", "WhoAmIResponse"),
        ("HttpCallback", "HTTPCallback"),
        ("rbac", "RBAC"),
        ("list_instances", "ListInstances"),
    ],
)
def test_exported_names(name: str, want: str) -> None:
    assert exported(name) == want


def test_parameters_avoid_keywords_and_generated_identifiers() -> None:
    assert unexported("instance_id") == "instanceID"
    assert parameter("name") == "name"
    assert parameter("type") == "typeArg"
    assert parameter("url") == "urlArg"


def _build(config: Config) -> list[GeneratedFile]:
    outcome = Generator(config, [TARGET]).build()
    assert outcome.ok, [str(d) for d in outcome.diagnostics.errors]
    return outcome.files


def _generated(files: list[GeneratedFile]) -> dict[str, str]:
    """Templated files by path under the SDK (the runtime copies left out)."""
    runtime = {p.name for p in runtime_files()}
    prefix = SDK_DIR + "/"
    return {
        f.path.removeprefix(prefix): f.content
        for f in files
        if f.path.removeprefix(prefix) not in runtime
    }


@needs_go
def test_widgets_match_golden(make_root: MakeRoot, request: pytest.FixtureRequest) -> None:
    files = _generated(_build(make_root(fixture_protos("widgets"))))
    golden = GOLDEN / "widgets" / "go"
    if update_requested(request.config):
        shutil.rmtree(golden, ignore_errors=True)
        for path, text in files.items():
            (golden / path).parent.mkdir(parents=True, exist_ok=True)
            (golden / path).write_text(text, encoding="utf-8")
    on_disk = {p.relative_to(golden).as_posix() for p in golden.rglob("*") if p.is_file()}
    assert on_disk == set(files), "golden files differ: run with --update-golden"
    for path, text in files.items():
        assert text == (golden / path).read_text(encoding="utf-8"), path


@needs_go
def test_every_file_carries_a_header_and_outputs_lists_them(make_root: MakeRoot) -> None:
    config = make_root(fixture_protos("widgets"))
    files = _build(config)
    outputs = set(TARGET.outputs(config))  # per contract file, both names whether used or not
    assert {f.path for f in files} <= outputs
    assert {f"{SDK_DIR}/widgets.go", f"{SDK_DIR}/widgets_types.go"} <= {f.path for f in files}
    for file in files:
        if file.path.endswith((".go", "go.mod")):
            assert file.content.startswith(GO_HEADER + "\n\n"), file.path


def _write_module(files: list[GeneratedFile], root: Path) -> Path:
    """The generated SDK under `root`, with the adapter's hand-written files beside it."""
    for file in files:
        (root / file.path).parent.mkdir(parents=True, exist_ok=True)
        (root / file.path).write_text(file.content, encoding="utf-8")
    module = root / SDK_DIR
    adapter = REPO_ROOT / SDK_DIR / "internal" / "conformance"
    for name in ADAPTER_HAND_WRITTEN:
        shutil.copy(adapter / name, module / "internal" / "conformance" / name)
    return module


def _go(module: Path, *args: str, tool: str = "go") -> str:
    result = subprocess.run(
        [tool, *args], cwd=module, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@needs_go
def test_widgets_sdk_builds_and_vets(make_root: MakeRoot, tmp_path: Path) -> None:
    module = _write_module(_build(make_root(fixture_protos("widgets"))), tmp_path / "out")
    _go(module, "vet", "./...")
    assert _go(module, "list", "-f", "{{.Name}}", ".").strip() == "concord"
    assert _go(module, "-l", ".", tool="gofmt") == ""


@needs_go
def test_widgets_sdk_maps_the_fixture(make_root: MakeRoot) -> None:
    files = _generated(_build(make_root(fixture_protos("widgets"))))
    resources, models = files["widgets.go"], files["widgets_types.go"]
    assert "func (s *WidgetService) SetLabel(ctx context.Context, name string, key string," in (
        resources
    )
    assert "body:       params.Value," in resources
    guarded = 'if params.Filter != nil {\n\t\taddQuery(q, "filter.state", params.Filter.State)'
    assert guarded in resources
    assert "iter.Seq2[Widget, error]" in resources
    assert "(*Stream[WatchWidgetsResponse], error)" in resources
    assert "Shelf *uint32" in models
    assert "Priority *int32" in models
    assert "Holder *WidgetHolder" in models
    assert 'WidgetStateReady WidgetState = "READY"' in models
    assert "CreateWidgetRequest" not in models


@needs_go
def test_clashing_type_name_is_an_error(make_root: MakeRoot) -> None:
    service = """
// A message whose Go name the runtime core takes.
message Stream {
  // Name.
  string name = 1;
}
"""
    config = make_root({"common.proto": COMMON + service})
    outcome = Generator(config, [TARGET]).build()
    assert any("clash" in str(d) for d in outcome.diagnostics.errors)


@needs_go
def test_real_spec_generates_the_committed_sdk() -> None:
    files = _build(Config(root=REPO_ROOT))
    for file in files:
        on_disk = REPO_ROOT / file.path
        assert on_disk.is_file(), f"{file.path} is missing: run concord-gen generate"
        assert on_disk.read_text(encoding="utf-8") == file.content, f"{file.path} is stale"


def test_doc_comments_start_with_the_identifier_and_read_as_a_sentence() -> None:
    from concord_codegen.targets.go.names import godoc

    assert godoc("Acquire", "Acquires a lock for an owner.") == [
        "Acquire acquires a lock for an owner."
    ]
    assert godoc("Lock", "A held lock.") == ["Lock is a held lock."]
    assert godoc("LockEventType", "What happened to a lock.") == [
        "LockEventType tells what happened to a lock."
    ]
    assert godoc("AuthService", "API keys and tokens.", service=True) == [
        "AuthService serves API keys and tokens."
    ]
    assert godoc("Widget", "") == ["Widget"]
