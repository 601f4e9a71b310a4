"""Golden records: the fixture contract's OpenAPI document, byte for byte.

Refresh with `pytest tests/test_golden.py --update-golden` (or UPDATE_GOLDEN=1).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from concord_codegen.pipeline import Generator
from concord_codegen.targets.openapi.document import TARGET as OPENAPI
from tests.conftest import MakeRoot
from tests.helpers import fixture_protos

GOLDEN = Path(__file__).parent / "golden"


def update_requested(config: pytest.Config) -> bool:
    """True when golden files should be rewritten."""
    return bool(config.getoption("--update-golden")) or os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("fixture", ["widgets"])
def test_openapi_matches_golden(
    make_root: MakeRoot, request: pytest.FixtureRequest, fixture: str
) -> None:
    config = make_root(fixture_protos(fixture))
    outcome = Generator(config, [OPENAPI]).build()
    assert outcome.ok, [str(d) for d in outcome.diagnostics.errors]
    assert not outcome.diagnostics.items, [str(d) for d in outcome.diagnostics.items]
    (document,) = outcome.files
    golden = GOLDEN / fixture / "openapi.yaml"
    if update_requested(request.config):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(document.content, encoding="utf-8")
    assert golden.is_file(), f"{golden} missing: run with --update-golden"
    assert document.content == golden.read_text(encoding="utf-8")
