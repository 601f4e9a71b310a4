"""Fixtures of the REST transport tests: a harness of fakes and a credentialed client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.restkit import client_for
from tests.fakes import AUTH, Harness, make_settings


@pytest.fixture
def harness() -> Harness:
    return Harness(settings=make_settings())


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(harness, **AUTH) as c:
        yield c
