"""The fast lane of unary contract RPCs: a request that fully matches one goes from the
outermost app straight to its endpoint inside the HTTP envelope, skipping FastAPI's and
Starlette's middleware, exception and routing layers (each wraps `send` or adds a frame per
request). It answers exactly as the full stack: same endpoint, same envelope, same problem
bodies. Streams, WebSockets, 404/405 answers, every other route and, when CORS is on, every
request with an `Origin` header take the full stack."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from concord_server.api.rest.problem import failure_response
from concord_server.api.rest.route_index import RouteIndex
from concord_server.middleware.envelope import envelop_http
from concord_server.middleware.metrics import NamedRoute

_ORIGIN = b"origin"


class ContractLane:
    """Finds a request's unary contract route and serves it; None means the full stack."""

    def __init__(self, index: RouteIndex, unary: frozenset[str], cors: bool) -> None:
        self._index = index
        self._unary = unary  # endpoint names (RPC names) of the unary RPCs
        self._cors = cors

    def match(self, scope: Scope) -> Scope | None:
        """The child scope (route, endpoint, path parameters) of a lane request, else None."""
        if scope["type"] != "http":
            return None
        if self._cors and any(k == _ORIGIN for k, _ in scope["headers"]):
            return None
        match, child = self._index.matches(scope)
        if match is not Match.FULL or child["endpoint"].__name__ not in self._unary:
            return None
        return child

    async def serve(self, child: Scope, scope: Scope, receive: Receive, send: Send) -> None:
        """Serves a request `match` accepted."""
        scope.update(child)
        await envelop_http(_run_endpoint, scope, receive, send)


async def _run_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """The matched route's endpoint, its failures answered as problem documents."""
    route: NamedRoute = scope["route"]
    try:
        response = await route.endpoint(Request(scope, receive))
    except Exception as exc:
        request_id = scope["state"]["request_id"]
        response = failure_response(exc, scope["method"], scope["path"], request_id)
    await response(scope, receive, send)
