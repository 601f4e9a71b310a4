"""The TypeScript SDK target: naming, golden output of the fixture, the committed SDK."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from concord_codegen.config import Config
from concord_codegen.headers import has_header
from concord_codegen.pipeline import Generator
from concord_codegen.targets.base import GeneratedFile
from concord_codegen.targets.typescript.names import import_line, jsdoc, parameter
from concord_codegen.targets.typescript.sdk import SRC, TARGET
from concord_codegen.targets.typescript.types import TsEnum
from tests.conftest import MakeRoot
from tests.helpers import REPO_ROOT, fixture_protos
from tests.inline_protos import COMMON
from tests.test_golden import GOLDEN, update_requested


def test_parameters_avoid_reserved_words() -> None:
    assert parameter("instance_id") == "instanceId"
    assert parameter("delete") == "deleteArg"
    assert parameter("params") == "paramsArg"


def test_jsdoc_and_imports_follow_the_formatter() -> None:
    assert jsdoc(["One line."]) == "/** One line. */"
    assert jsdoc(["a", "", "b"], "  ") == "  /**\n   * a\n   *\n   * b\n   */"
    assert import_line(["A", "B"], "./x.js", True) == "import type { A, B } from './x.js';"
    assert import_line(["type A"], "./x.js") == "import type { A } from './x.js';"
    long = import_line([f"Name{i}" for i in range(12)], "./models.js")
    assert long.startswith("import {\n  Name0,\n") and long.endswith("} from './models.js';")


def test_enums_stay_open_and_wrap_when_long() -> None:
    short = TsEnum("State", ["x"], ["A", "B"]).declaration
    assert short == "export type State = 'A' | 'B' | OtherString;"
    wrapped = TsEnum("State", ["x"], [f"VALUE_{i}" for i in range(12)]).declaration
    assert wrapped.startswith("export type State =\n  | 'VALUE_0'\n")
    assert wrapped.endswith("  | OtherString;")


def _build(config: Config) -> list[GeneratedFile]:
    outcome = Generator(config, [TARGET]).build()
    assert outcome.ok, [str(d) for d in outcome.diagnostics.errors]
    return outcome.files


def _generated(files: list[GeneratedFile]) -> dict[str, str]:
    """Templated files by path under sdks/node (the runtime copies left out)."""
    prefix = "sdks/node/"
    return {
        f.path.removeprefix(prefix): f.content
        for f in files
        if not f.path.startswith(f"{SRC}/core/")
    }


def test_widgets_match_golden(make_root: MakeRoot, request: pytest.FixtureRequest) -> None:
    files = _generated(_build(make_root(fixture_protos("widgets"))))
    golden = GOLDEN / "widgets" / "typescript"
    if update_requested(request.config):
        shutil.rmtree(golden, ignore_errors=True)
        for path, text in files.items():
            (golden / path).parent.mkdir(parents=True, exist_ok=True)
            (golden / path).write_text(text, encoding="utf-8")
    on_disk = {p.relative_to(golden).as_posix() for p in golden.rglob("*") if p.is_file()}
    assert on_disk == set(files), "golden files differ: run with --update-golden"
    for path, text in files.items():
        assert text == (golden / path).read_text(encoding="utf-8"), path


def test_every_file_has_a_header_and_lies_in_the_outputs(make_root: MakeRoot) -> None:
    config = make_root(fixture_protos("widgets"))
    outputs = TARGET.outputs(config)
    for file in _build(config):
        assert has_header(file.content), file.path
        assert any(file.path == o or file.path.startswith(o + "/") for o in outputs), file.path


def test_widgets_sdk_maps_the_fixture(make_root: MakeRoot) -> None:
    files = _generated(_build(make_root(fixture_protos("widgets"))))
    resources = "\n".join(t for p, t in files.items() if p.startswith("src/resources/"))
    models = "\n".join(t for p, t in files.items() if p.startswith("src/models/"))
    assert "body: 'value'," in resources
    assert "PagePromise<Widget, ListWidgetsResponse>" in resources
    assert "StreamPromise<WatchWidgetsResponse>" in resources
    assert "export type WidgetState = 'READY'" in models or "  | 'READY'" in models
    assert "CreateWidgetRequest" not in models
    assert "| OtherString" in models


def test_clashing_type_name_is_an_error(make_root: MakeRoot) -> None:
    service = """
// A message whose name the runtime core takes.
message Stream {
  // Name.
  string name = 1;
}
"""
    config = make_root({"common.proto": COMMON + service})
    outcome = Generator(config, [TARGET]).build()
    assert any("clash" in str(d) for d in outcome.diagnostics.errors)


def test_real_spec_generates_the_committed_sdk() -> None:
    for file in _build(Config(root=REPO_ROOT)):
        on_disk = REPO_ROOT / file.path
        assert on_disk.is_file(), f"{file.path} is missing: run concord-gen generate"
        assert on_disk.read_text(encoding="utf-8") == file.content, f"{file.path} is stale"


def test_custom_resources_replace_generated_ones() -> None:
    files = {f.path: f.content for f in _build(Config(root=REPO_ROOT))}
    custom = {p.stem for p in (REPO_ROOT / SRC / "custom").glob("*.ts")}
    client = files[f"{SRC}/client.ts"]
    for stem in custom - {"index"}:
        if (Path(REPO_ROOT / SRC / "resources") / f"{stem}.ts").is_file():
            assert f"from './custom/{stem}.js'" in client
