"""/console: the built web console as static files, or a page that says how to build it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from concord_server.api.rest import console
from concord_server.api.rest.console import console_routes
from tests.fakes import make_settings


def _client(folder: Path) -> httpx.AsyncClient:
    app = Starlette(routes=console_routes(make_settings(console_dir=str(folder))))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_serves_the_built_console(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.js").write_text("export {};")
    async with _client(tmp_path) as client:
        moved = await client.get("/console")
        assert moved.status_code == 308 and moved.headers["location"] == "/console/"
        page = await client.get("/console/")
        assert page.status_code == 200 and "<title>console</title>" in page.text
        script = await client.get("/console/app/main.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith(
            ("text/javascript", "application/javascript")
        )
        assert (await client.get("/console/app/missing.js")).status_code == 404


async def test_an_unbuilt_console_says_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "_REPO", tmp_path)  # no console/dist there
    empty = tmp_path / "empty"  # configured, but without an index.html
    empty.mkdir()
    async with _client(empty) as client:
        page = await client.get("/console/")
        assert (await client.get("/console")).status_code == 308
    assert page.status_code == 503
    assert "scripts/setup.sh console" in page.text
