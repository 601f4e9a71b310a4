"""Every PostgreSQL store opens at once on a fresh schema, as a server's start-up steps and
several instances starting together do (concurrent CREATE SCHEMA IF NOT EXISTS once failed
with a unique violation)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from concord_server.backends.connections import Connections
from concord_server.backends.registry import open_backend
from concord_server.config import Settings
from tests.conftest import backend_url

CAPABILITIES = ("locks", "events", "sagas", "rbac", "idempotency")
INSTANCES = 3


async def test_stores_open_concurrently_on_a_fresh_schema(
    tmp_path: Path, settings: Settings
) -> None:
    url = backend_url("postgres", tmp_path)
    instances = [Connections() for _ in range(INSTANCES)]
    try:
        opened = await asyncio.gather(
            *(open_backend(c, url, settings, conns) for conns in instances for c in CAPABILITIES)
        )
    finally:
        for conns in instances:
            await conns.close()
    assert len(opened) == INSTANCES * len(CAPABILITIES)
