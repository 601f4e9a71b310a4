"""Serves the web console (console/, built at set-up) at /console, from local files (no CDN)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from concord_server.config import Settings
from concord_server.middleware.metrics import NamedRoute

_REPO = Path(__file__).resolve().parents[5]

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Concord console</title></head>
<body><h1>The Concord console is not built</h1>
<p>Build it with <code>scripts/setup.sh console</code> (or <code>make setup</code>), or set
<code>CONCORD_CONSOLE_DIR</code> to a folder holding the built console.</p></body></html>
"""


def console_dir(settings: Settings) -> Path | None:
    """The built console: configured, else the repository's console/dist, if it has an index."""
    candidates = [
        Path(settings.console_dir) if settings.console_dir else None,
        _REPO / "console" / "dist",
    ]
    return next((p for p in candidates if p is not None and (p / "index.html").is_file()), None)


def console_routes(settings: Settings) -> list[BaseRoute]:
    """/console (redirects to /console/) and the console's files; a page that says how to
    build it when it is not built."""
    folder = console_dir(settings)

    async def to_slash(request: Request) -> Response:
        return RedirectResponse("/console/", status_code=308)

    async def not_built(request: Request) -> Response:
        return HTMLResponse(_NOT_BUILT, status_code=503)

    routes: list[BaseRoute] = [NamedRoute("/console", to_slash, methods=["GET", "HEAD"])]
    if folder is None:
        routes.append(NamedRoute("/console/{path:path}", not_built, methods=["GET", "HEAD"]))
    else:
        routes.append(
            Mount("/console", app=StaticFiles(directory=folder, html=True), name="console")
        )
    return routes
