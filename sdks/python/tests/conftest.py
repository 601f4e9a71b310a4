"""Fixtures of the live tests: a real server named by CONCORD_TEST_BASE_URL, else a skip."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from concord import Concord

SKIP_REASON = (
    "CONCORD_TEST_BASE_URL is not set: start a server (e.g. `make run`, or "
    "`python -m concord_server` with CONCORD_TEST_HOOKS=true) and export "
    "CONCORD_TEST_BASE_URL=http://127.0.0.1:8080 (and CONCORD_TEST_API_KEY, default dev-admin-key)"
)


@pytest.fixture
def live_url() -> str:
    """The live server's base URL (the test is skipped without one)."""
    url = os.environ.get("CONCORD_TEST_BASE_URL", "")
    if not url:
        pytest.skip(SKIP_REASON)
    return url


@pytest.fixture
def live_key() -> str:
    """An API key the live server accepts."""
    return os.environ.get("CONCORD_TEST_API_KEY", "dev-admin-key")


@pytest.fixture
def live(live_url: str, live_key: str) -> Iterator[Concord]:
    """A sync client of the live server."""
    with Concord(base_url=live_url, api_key=live_key) as client:
        yield client


@pytest.fixture
def unique() -> str:
    """A name prefix no other test run uses."""
    return f"py-{uuid.uuid4().hex[:10]}"
