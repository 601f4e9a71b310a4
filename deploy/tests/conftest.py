"""Fixtures of the deployment tests: the image under test and the engines' URLs."""

from __future__ import annotations

import os
import uuid

import pytest

ENGINE_ENV = {
    "redis": "CONCORD_TEST_REDIS_URL",
    "postgres": "CONCORD_TEST_POSTGRES_URL",
    "etcd": "CONCORD_TEST_ETCD_URL",
}


@pytest.fixture(scope="session")
def image() -> str:
    """The image `scripts/test-deploy.sh` built (CONCORD_TEST_IMAGE)."""
    tag = os.environ.get("CONCORD_TEST_IMAGE", "")
    if not tag:
        pytest.fail("CONCORD_TEST_IMAGE is not set: run `make test-deploy`")
    return tag


def engine_url(engine: str) -> str:
    """The URL of a running engine; a failure (not a skip) when it is missing."""
    url = os.environ.get(ENGINE_ENV[engine], "")
    if not url:
        pytest.fail(f"{ENGINE_ENV[engine]} is not set: run `make test-deploy`")
    return url


def isolated(url: str, engine: str) -> str:
    """The URL with a fresh namespace (key prefix or schema), so runs never share data."""
    tag = "deploy" + uuid.uuid4().hex[:10]
    option = "schema" if engine == "postgres" else "prefix"
    return f"{url}{'&' if '?' in url else '?'}{option}={tag}"
