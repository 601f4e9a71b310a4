"""Shared fixtures: real engine URLs (from `scripts/services.sh env`) with per-test isolation."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from concord_server.backends.connections import Connections
from concord_server.config import Settings

ENGINE_ENV = {
    "redis": "CONCORD_TEST_REDIS_URL",
    "postgres": "CONCORD_TEST_POSTGRES_URL",
    "etcd": "CONCORD_TEST_ETCD_URL",
}


def engine_url(engine: str) -> str:
    """The URL of a real engine, or a skip when `make test` did not start it."""
    url = os.environ.get(ENGINE_ENV[engine], "")
    if not url:
        pytest.skip(f"{ENGINE_ENV[engine]} is not set (run through `make test`)")
    return url


def isolated(url: str, engine: str) -> str:
    """The URL with a fresh namespace, so tests never see each other's data."""
    tag = "t" + uuid.uuid4().hex[:12]
    option = "schema" if engine == "postgres" else "prefix"
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{option}={tag}"


def backend_url(kind: str, tmp_path: Path) -> str:
    """A storage URL for a backend kind: memory, sqlite, redis, postgres or etcd."""
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite://{tmp_path / 'concord.db'}"
    return isolated(engine_url(kind), kind)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing the data folder at the test's temporary folder."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
async def connections() -> AsyncIterator[Connections]:
    """A connection registry closed after the test."""
    conns = Connections()
    yield conns
    await conns.close()
