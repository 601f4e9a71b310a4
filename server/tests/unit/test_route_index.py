"""The contract's route index answers exactly as Starlette's route-by-route search."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Match

from concord_server.api.rest.route_index import RouteIndex
from concord_server.middleware.metrics import NamedRoute


async def _endpoint(request: Any) -> Any:
    raise AssertionError("never called")


ROUTES = [
    NamedRoute("/v1/locks/{name}:acquire", _endpoint, methods=["POST"]),
    NamedRoute("/v1/locks/{name}:release", _endpoint, methods=["POST"]),
    NamedRoute("/v1/locks:watch", _endpoint, methods=["GET"]),
    NamedRoute("/v1/{anything}:go", _endpoint, methods=["POST"]),
    NamedRoute("/v1/locks/{name}", _endpoint, methods=["GET"]),
    NamedRoute("/v1/locks", _endpoint, methods=["GET"]),
    NamedRoute("/v1/{anything}/x", _endpoint, methods=["GET"]),
    NamedRoute("/v1/events/{stream}", _endpoint, methods=["POST"]),
    NamedRoute("/v1/events/{stream}", _endpoint, methods=["GET"]),
    NamedRoute("/v1/health/live", _endpoint, methods=["GET"]),
]


def _starlette(scope: dict[str, Any]) -> tuple[Match, Any]:
    """Starlette's own search: first full match in order, else the first partial."""
    partial = None
    for route in ROUTES:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return match, child.get("route")
        if match is Match.PARTIAL and partial is None:
            partial = (match, child.get("route"))
    return partial or (Match.NONE, None)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/locks/a:acquire"),
        ("GET", "/v1/locks/a:acquire"),
        ("POST", "/v1/locks/a:release"),
        ("POST", "/v1/locks/a:b:release"),
        ("GET", "/v1/locks/a:release"),
        ("POST", "/v1/locks/a:b"),
        ("GET", "/v1/locks/a:b"),
        ("GET", "/v1/locks/a:"),
        ("POST", "/v1/locks/a:acquire/b"),
        ("GET", "/v1/locks:watch"),
        ("POST", "/v1/locks:watch"),
        ("POST", "/v1/locks:go"),
        ("POST", "/v1/other:go"),
        ("POST", "/v1/locks/a:go"),
        ("GET", "/v1/locks/a"),
        ("DELETE", "/v1/locks/a"),
        ("GET", "/v1/locks"),
        ("GET", "/v1/locks/x"),
        ("GET", "/v1/events/x"),
        ("PUT", "/v1/events/x"),
        ("GET", "/v1/health/live"),
        ("GET", "/v1/other/x"),
        ("GET", "/v1"),
        ("GET", "/"),
        ("GET", "/v1//locks/a"),
        ("GET", "/v2/locks/a"),
    ],
)
def test_same_choice_as_starlette(method: str, path: str) -> None:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    index = RouteIndex(ROUTES)
    match, child = index.matches(scope)
    assert (match, child.get("route")) == _starlette(scope)
    expected_format = child["route"].path_format if match is not Match.NONE else None
    assert index.path_format == expected_format


def test_websocket_scopes_match_nothing() -> None:
    scope = {"type": "websocket", "path": "/v1/locks", "root_path": ""}
    assert RouteIndex(ROUTES).matches(scope)[0] is Match.NONE
