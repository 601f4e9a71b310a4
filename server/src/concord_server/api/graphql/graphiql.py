"""GraphiQL at /graphiql, served offline from the npm packages `scripts/setup.sh` installs
(`graphiql` with the UMD builds of `react` and `react-dom`), like Swagger UI at /docs."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from concord_server.config import Settings
from concord_server.errors import ConcordError, ErrorCode
from concord_server.middleware.metrics import NamedRoute

_REPO = Path(__file__).resolve().parents[5]
# URL folder -> (npm package, folder inside it, a file that must be there)
ASSETS = {
    "graphiql": ("graphiql", "", "graphiql.min.js"),
    "react": ("react", "umd", "react.production.min.js"),
    "react-dom": ("react-dom", "umd", "react-dom.production.min.js"),
}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Concord GraphQL</title>
  <link rel="stylesheet" href="/graphiql/assets/graphiql/graphiql.min.css">
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphiql/assets/react/react.production.min.js"></script>
  <script src="/graphiql/assets/react-dom/react-dom.production.min.js"></script>
  <script src="/graphiql/assets/graphiql/graphiql.min.js"></script>
  <script>
    const http = new URL("/graphql", window.location.href);
    const ws = new URL("/graphql", window.location.href);
    ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
    const fetcher = GraphiQL.createFetcher({{ url: http.href, subscriptionUrl: ws.href }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{
        fetcher,
        defaultHeaders: {headers},
        defaultQuery: {query},
      }})
    );
  </script>
</body>
</html>
"""
DEFAULT_HEADERS = '{\n  "X-API-Key": ""\n}'
DEFAULT_QUERY = (
    "# Put your API key in the Headers tab, then run:\n{\n  whoAmI {\n    subject\n  }\n}\n"
)


def node_modules(settings: Settings) -> Path | None:
    """The folder holding the three npm packages, if they are installed."""
    candidates = [
        Path(settings.graphiql_dir) if settings.graphiql_dir else None,
        _REPO / "tools" / "node_modules",
    ]
    for root in candidates:
        if root is not None and all(
            _asset_dir(root, a).joinpath(ASSETS[a][2]).is_file() for a in ASSETS
        ):
            return root
    return None


def _asset_dir(root: Path, name: str) -> Path:
    package, folder, _ = ASSETS[name]
    return root / package / folder if folder else root / package


def graphiql_routes(settings: Settings) -> list[BaseRoute]:
    """/graphiql and its assets; without the assets the page says how to install them."""
    root = node_modules(settings)
    html = PAGE.format(headers=json.dumps(DEFAULT_HEADERS), query=json.dumps(DEFAULT_QUERY))

    async def page(request: Request) -> Response:
        if root is None:
            raise ConcordError(
                ErrorCode.UNAVAILABLE,
                "GraphiQL's assets are not installed: run `scripts/setup.sh tools` (npm packages "
                "graphiql, react, react-dom) or set CONCORD_GRAPHIQL_DIR to their node_modules",
            )
        return HTMLResponse(html)

    routes: list[BaseRoute] = [NamedRoute("/graphiql", page, methods=["GET"])]
    if root is not None:
        for name in ASSETS:
            app = StaticFiles(directory=_asset_dir(root, name))
            routes.append(Mount(f"/graphiql/assets/{name}", app=app, name=f"graphiql-{name}"))
    return routes
