"""The real contract in spec/proto: no errors, valid OpenAPI, importable stubs, no drift."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from concord_codegen.config import Config
from concord_codegen.pipeline import Generator
from concord_codegen.targets import discover
from concord_codegen.targets.docs.errors import render as render_errors_page
from concord_codegen.targets.openapi.document import build_document
from concord_codegen.targets.openapi.yaml_dump import dump
from tests.helpers import REAL_SPEC, build, python_in_generated_server

CONTRACT = sorted((REAL_SPEC / "proto" / "concord" / "v1").glob("*.proto"))
pytestmark = pytest.mark.skipif(
    [p.name for p in CONTRACT] in ([], ["options.proto"]),
    reason="spec/proto has no contract files besides options.proto yet",
)


@pytest.fixture(scope="module")
def real_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    root = tmp_path_factory.mktemp("real")
    shutil.copytree(REAL_SPEC, root / "spec", ignore=shutil.ignore_patterns("openapi"))
    return Config(root=root)


def test_real_spec_has_no_errors(real_config: Config) -> None:
    _, diagnostics = build(real_config)
    assert not diagnostics.errors, [str(d) for d in diagnostics.errors]


def test_real_openapi_validates(real_config: Config) -> None:
    api, _ = build(real_config)
    document: dict[str, Any] = yaml.safe_load(dump(build_document(api)))
    validate(document)
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    rpcs = [m for s in api.services for m in s.methods]
    assert len(operations) == len(rpcs)


def test_real_stubs_import(real_config: Config) -> None:
    outcome = Generator(real_config, [discover()["python-grpc"]]).generate()
    assert outcome.ok, [str(d) for d in outcome.diagnostics.errors]
    package = Path(real_config.root / real_config.grpc_out / "concord" / "v1")
    modules = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
    assert {f"{p.stem}_pb2_grpc" for p in CONTRACT} <= set(modules)
    script = (
        "import importlib\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module('concord_server._gen.concord.v1.' + name)\n"
    )
    python_in_generated_server(real_config, script, *modules)


def test_real_spec_names_every_service_and_rpc_for_sdks(real_config: Config) -> None:
    api, diagnostics = build(real_config)
    assert not [d for d in diagnostics.warnings if "sdk" in str(d)]
    assert {s.name: s.sdk_resource for s in api.services}["LockService"] == "locks"
    locks = next(s for s in api.services if s.name == "LockService")
    assert [m.sdk_name for m in locks.methods] == [
        "acquire",
        "renew",
        "release",
        "get",
        "list",
        "watch",
    ]


def test_the_errors_page_has_an_anchor_per_catalogue_code(real_config: Config) -> None:
    api, _ = build(real_config)
    assert api is not None
    page = render_errors_page(api)
    for code in api.errors:
        assert f"\n## {code.code}\n" in page
        assert f"(#{code.code.lower()})" in page


def test_problem_schema_carries_rfc9457_and_error_members(real_config: Config) -> None:
    api, _ = build(real_config)
    assert api is not None
    document = build_document(api)
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code", "message", "details", "request_id"} <= set(
        problem["properties"]
    )
    not_found = document["components"]["responses"]["NotFound"]["content"]
    assert not_found["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


def test_real_openapi_is_shaped_for_client_generators(real_config: Config) -> None:
    api, _ = build(real_config)
    assert api is not None
    document = build_document(api)
    schemas = document["components"]["schemas"]
    bodies = [
        op["requestBody"]["content"]["application/json"]["schema"].get("$ref", "")
        for ops in document["paths"].values()
        for op in ops.values()
        if "requestBody" in op
    ]
    assert all(not ref or ref.endswith("Body") for ref in bodies)
    assert not [name for name in schemas if name.endswith("Request")]
    varnames = [v for s in schemas.values() for v in s.get("x-enum-varnames", [])]
    assert len(varnames) == len(set(varnames))
    protos = {v.name for e in api.enums_by_name.values() for v in e.wire_values}
    assert set(varnames) <= protos  # top-level enums: the proto value names
    assert "additionalProperties: true" not in dump(document)
