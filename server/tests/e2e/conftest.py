"""Fixtures for end-to-end tests against real server processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.live import LiveServer


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server on the embedded default storage in a fresh data folder."""
    server = LiveServer(tmp_path / "data").start()
    try:
        yield server
    finally:
        server.stop()
