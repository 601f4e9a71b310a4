"""Prometheus metrics: HTTP requests by route and status, exposed at /metrics."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from concord_server.telemetry.loop_metrics import Counter, Gauge, Histogram

REQUESTS = Counter("concord_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "concord_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)
IN_FLIGHT = Gauge(
    "concord_http_requests_in_flight", "HTTP requests being answered, open streams included"
)
RPC_CALLS = Counter(
    "concord_rpc_calls_total", "RPC calls by transport and outcome", ["transport", "rpc", "code"]
)
AUTH_FAILURES = Counter(
    "concord_auth_failures_total",
    "Failed authentications: refused (401) and, once an address is throttled, throttled (429)",
    ["outcome"],
)
for _outcome in ("refused", "throttled"):  # both series exist from the start, at 0
    AUTH_FAILURES.labels(_outcome)


class NamedRoute(Route):
    """A Route that puts itself in the scope (`scope["route"]`, as FastAPI's routes do), so
    metrics and request logs can name the route template rather than the raw path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Starlette's match, plus the route itself."""
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def _route_of(scope: Scope) -> str:
    """The route's template (FastAPI routes) or endpoint name (contract routes are named by RPC)."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", "unmatched"))
    endpoint = scope.get("endpoint")
    return str(getattr(endpoint, "__name__", "unmatched"))


def record_http(scope: Scope, status: int, start: float) -> None:
    """Counts one answered request and observes its latency, per route template (not raw path)."""
    route = _route_of(scope)
    REQUESTS.labels(scope["method"], route, str(status)).inc()
    LATENCY.labels(scope["method"], route).observe(time.perf_counter() - start)


def metrics_route() -> Route:
    """GET /metrics in the Prometheus text format."""

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return NamedRoute("/metrics", metrics, methods=["GET"])
