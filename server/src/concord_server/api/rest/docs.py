"""Serves the contract's OpenAPI document and Swagger UI from local files (no CDN)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from concord_server.config import Settings
from concord_server.middleware.metrics import NamedRoute

_PACKAGE = Path(__file__).resolve().parents[2]
_REPO = _PACKAGE.parents[2]


def openapi_path(settings: Settings) -> Path:
    """The OpenAPI document: configured, packaged, or the repository's `spec/openapi`."""
    candidates = [
        Path(settings.openapi_path) if settings.openapi_path else None,
        _PACKAGE / "_gen" / "openapi.yaml",
        _REPO / "spec" / "openapi" / "openapi.yaml",
    ]
    for path in candidates:
        if path is not None and path.is_file():
            return path
    raise FileNotFoundError("openapi.yaml not found; set CONCORD_OPENAPI_PATH")


def swagger_dir(settings: Settings) -> Path | None:
    """The folder of the `swagger-ui-dist` npm package, if installed."""
    candidates = [
        Path(settings.swagger_ui_dir) if settings.swagger_ui_dir else None,
        _REPO / "tools" / "node_modules" / "swagger-ui-dist",
    ]
    return next((p for p in candidates if p is not None and (p / "swagger-ui.css").is_file()), None)


@cache
def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def docs_routes(settings: Settings) -> list[BaseRoute]:
    """Routes for /openapi.yaml, /openapi.json, /docs and the Swagger UI assets."""

    async def openapi_yaml(request: Request) -> Response:
        return Response(openapi_path(settings).read_bytes(), media_type="application/yaml")

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(_load(openapi_path(settings)))

    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Concord API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    routes: list[BaseRoute] = [
        NamedRoute("/openapi.yaml", openapi_yaml, methods=["GET"]),
        NamedRoute("/openapi.json", openapi_json, methods=["GET"]),
        NamedRoute("/docs", docs, methods=["GET"]),
    ]
    assets = swagger_dir(settings)
    if assets is not None:
        routes.append(Mount("/docs/assets", app=StaticFiles(directory=assets), name="docs-assets"))
    return routes
