"""Shared fixtures: temporary repository roots holding small inline contracts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from concord_codegen.config import Config
from tests.helpers import write_root

MakeRoot = Callable[..., Config]


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-golden` rewrites the golden files instead of comparing (or UPDATE_GOLDEN=1)."""
    parser.addoption("--update-golden", action="store_true", help="refresh tests/golden/")


@pytest.fixture
def make_root(tmp_path: Path) -> MakeRoot:
    """Factory: `make_root({"x.proto": "..."})` -> Config of a fresh root under tmp_path."""

    def make(protos: dict[str, str], name: str = "repo") -> Config:
        return write_root(tmp_path / name, protos)

    return make
