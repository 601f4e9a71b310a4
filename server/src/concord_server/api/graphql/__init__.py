"""GraphQL at /graphql: the generated schema served over HTTP and WebSocket on the dispatcher.

The schema is spec/graphql/schema.graphql (generated from the contract, docs/graphql.md); the
binding links it to the RPC table at start-up. Nothing here knows a domain: every root field is
one RPC call through the same dispatcher REST, gRPC and /v1/ws use.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute

from concord_server.api.dispatch import Dispatcher
from concord_server.api.graphql.binding import load_schema
from concord_server.api.graphql.engine import Engine
from concord_server.api.graphql.graphiql import graphiql_routes
from concord_server.api.graphql.http import graphql_http_route
from concord_server.api.graphql.transport_ws import graphql_ws_route
from concord_server.config import Settings

_PACKAGE = Path(__file__).resolve().parents[2]
_REPO = _PACKAGE.parents[2]


def schema_path(settings: Settings) -> Path:
    """The schema file: configured, packaged, or the repository's `spec/graphql`."""
    candidates = [
        Path(settings.graphql_schema_path) if settings.graphql_schema_path else None,
        _PACKAGE / "_gen" / "schema.graphql",
        _REPO / "spec" / "graphql" / "schema.graphql",
    ]
    for path in candidates:
        if path is not None and path.is_file():
            return path
    raise FileNotFoundError("schema.graphql not found; set CONCORD_GRAPHQL_SCHEMA_PATH")


def graphql_engine(dispatcher: Dispatcher, settings: Settings) -> Engine:
    """The executable schema bound to the dispatcher's RPCs, with this server's limits."""
    schema = load_schema(schema_path(settings).read_text(encoding="utf-8"), dispatcher.rpcs)
    return Engine(schema, settings)


def graphql_routes(dispatcher: Dispatcher, settings: Settings) -> list[BaseRoute]:
    """/graphql over HTTP and WebSocket, and GraphiQL at /graphiql unless introspection is off."""
    engine = graphql_engine(dispatcher, settings)
    routes: list[BaseRoute] = [
        graphql_http_route(engine, dispatcher, settings.max_body_bytes),
        graphql_ws_route(engine, dispatcher, settings),
    ]
    if settings.graphql_introspection:
        routes += graphiql_routes(settings)
    return routes
