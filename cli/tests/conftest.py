"""Fixtures: a live server, a `concord` runner bound to it, unique names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from concord import Concord

from tests.runner import Runner
from tests.server import Live, live_server


@pytest.fixture(scope="session")
def live() -> Iterator[Live]:
    """The live server (started for the session unless CONCORD_TEST_BASE_URL names one)."""
    with live_server() as server:
        yield server


@pytest.fixture
def client(live: Live) -> Iterator[Concord]:
    """An SDK client of the live server, to set up and check what the CLI does."""
    with Concord(base_url=live.base_url, api_key=live.api_key) as sdk:
        yield sdk


@pytest.fixture
def cli(live: Live, tmp_path: Path) -> Runner:
    """Runs `concord` in-process against the live server, with an empty profile file."""
    return Runner(live, tmp_path / "config.toml")


@pytest.fixture
def unique() -> str:
    """A name prefix no other test run uses."""
    return f"cli-{uuid.uuid4().hex[:10]}"
