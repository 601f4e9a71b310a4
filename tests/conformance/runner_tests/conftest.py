"""Shared fixtures: a pool of fake adapters and helpers to build cases from YAML text."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.runner import loader
from tests.conformance.runner.adapter import AdapterPool, AdapterSpec
from tests.conformance.runner.model import Case

FAKE = Path(__file__).with_name("fake_adapter.py")


@pytest.fixture
def fake_spec(tmp_path: Path) -> AdapterSpec:
    """The fake adapter as language `fake`."""
    return AdapterSpec("fake", (sys.executable, str(FAKE)), tmp_path, tmp_path / "logs")


@pytest.fixture
def pool(fake_spec: AdapterSpec) -> Iterator[AdapterPool]:
    """A pool of fake adapters, closed after the test."""
    adapters = AdapterPool(fake_spec)
    yield adapters
    adapters.close()


def cases_from(tmp_path: Path, text: str, name: str = "demo") -> list[Case]:
    """The cases of a YAML text written to `<tmp>/cases/<name>.yaml`."""
    folder = tmp_path / "cases"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return loader.load_file(path)
