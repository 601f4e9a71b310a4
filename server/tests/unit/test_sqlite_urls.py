"""A sqlite:// URL names its file the same way for every store: `?` options are not part of it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from concord_server.backends import registry
from concord_server.backends.connections import Connections
from concord_server.config import Settings


def test_the_query_is_not_part_of_the_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.sqlite_path(f"sqlite://{tmp_path}/x.db?mode=fast") == tmp_path / "x.db"
    assert settings.sqlite_path("sqlite://") == tmp_path / "concord.db"


async def _open(capability: str, url: str, data_dir: Path) -> None:
    """Opens (and closes) the store of `capability` on `url`."""
    connections = Connections()
    try:
        await registry.open_backend(capability, url, Settings(data_dir=data_dir), connections)
    finally:
        await connections.close()


@pytest.mark.parametrize("capability", ["locks", "events", "sagas", "rbac"])
def test_every_store_opens_the_file_without_the_query(tmp_path: Path, capability: str) -> None:
    asyncio.run(_open(capability, f"sqlite://{tmp_path}/{capability}.db?note=x", tmp_path))
    assert (tmp_path / f"{capability}.db").exists()
    assert not [p.name for p in tmp_path.iterdir() if "?" in p.name]
