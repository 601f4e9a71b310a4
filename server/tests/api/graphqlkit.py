"""Shared pieces of the GraphQL transport tests: an app with /graphql over fakes, and helpers."""

from __future__ import annotations

from typing import Any

import httpx

from concord_server.api.graphql import graphql_routes
from concord_server.api.graphql.http import GRAPHQL_RESPONSE
from concord_server.config import Settings
from tests.fakes import Harness, make_settings

__all__ = ["GRAPHQL_RESPONSE", "field_error", "graphql_harness", "graphql_harness_with", "post"]


def graphql_harness(**settings: Any) -> Harness:
    """A harness of fakes whose app also serves /graphql (and /graphiql)."""
    return graphql_harness_with(make_settings(**settings))


def graphql_harness_with(settings: Settings | None = None, **parts: Any) -> Harness:
    """A harness with some parts replaced (e.g. an idempotency store), serving /graphql."""
    harness = Harness(settings=settings or make_settings(), **parts)
    harness.app.router.routes.extend(graphql_routes(harness.dispatcher, harness.settings))
    return harness


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    **headers: str,
) -> httpx.Response:
    """POSTs one GraphQL request."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return await client.post("/graphql", json=body, headers=headers)


def field_error(response: httpx.Response, code: str) -> dict[str, Any]:
    """The single error of a response, checked to carry the catalogue code and request id."""
    body = response.json()
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    extensions = error["extensions"]
    assert set(extensions) == {"code", "details", "request_id"}
    assert extensions["code"] == code, error
    assert extensions["request_id"] == response.headers["x-request-id"]
    assert isinstance(extensions["details"], dict)
    return error
