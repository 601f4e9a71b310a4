"""Request logs: one JSON line per HTTP request and per RPC call (gRPC, GraphQL), with W3C
trace and span ids. An HTTP endpoint of another transport names it in
`scope["state"]["transport"]`."""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry.trace import Span
from starlette.types import Scope

from concord_server.telemetry import tracing
from concord_server.tracing import HEADER, start_span

log = logging.getLogger("concord.access")
TRACEPARENT = HEADER.encode()
UNTRACED_PATHS = frozenset({"/metrics"})  # scraped every few seconds: spans would be noise


def _elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def _subject(state: dict[str, Any]) -> str:
    ctx = state.get("call_context")
    return str(getattr(getattr(ctx, "principal", None), "subject", ""))


def _route(scope: Scope) -> str:
    return str(getattr(scope.get("route"), "path", "unmatched"))


def log_http(scope: Scope, status: int, start: float) -> None:
    """The log line of an HTTP request (route template, not the raw path)."""
    if not log.isEnabledFor(logging.INFO):
        return
    state: dict[str, Any] = scope.get("state", {})
    route = _route(scope)
    extra: dict[str, Any] = {
        "transport": state.get("transport", "rest"),
        "method": scope["method"],
        "route": route,
        "status": status,
        "duration_ms": _elapsed_ms(start),
        "request_id": state.get("request_id", ""),
        "trace_id": state.get("trace_id", ""),
        "span_id": state.get("span_id", ""),
    }
    subject = _subject(state)
    if subject:
        extra["subject"] = subject
    log.info("%s %s %d", scope["method"], route, status, extra=extra)


def log_rpc(
    rpc: str,
    code: str,
    start: float,
    request_id: str,
    trace_id: str,
    transport: str = "grpc",
    span_id: str = "",
) -> None:
    """The log line of one RPC call (`code` is OK or the catalogue code)."""
    if not log.isEnabledFor(logging.INFO):
        return
    extra = {
        "transport": transport,
        "rpc": rpc,
        "code": code,
        "duration_ms": _elapsed_ms(start),
        "request_id": request_id,
        "trace_id": trace_id,
        "span_id": span_id,
    }
    log.info("%s %s", rpc, code, extra=extra)


def begin_span(scope: Scope, incoming: str) -> tuple[Span | None, str]:
    """The request's span (OpenTelemetry's when tracing is on, else ids made here), its ids in
    the request state, and the `traceparent` to answer with."""
    state = scope.setdefault("state", {})
    span = None
    if scope["path"] not in UNTRACED_PATHS:
        span = tracing.start_server_span(f"{scope['method']}", {HEADER: incoming})
    if span is None:
        trace = start_span(incoming)
        state.update(trace_id=trace.trace_id, span_id=trace.span_id)
        state["traceparent"] = trace.traceparent()
        return None, state["traceparent"]
    state["trace_id"], state["span_id"], _flags = tracing.ids_of(span)
    state["traceparent"] = tracing.traceparent_of(span)
    state["span"] = span
    return span, state["traceparent"]


def finish_span(span: Span, scope: Scope, status: int) -> None:
    """HTTP attributes and the name `METHOD /route`, unless the span became an RPC's."""
    state: dict[str, Any] = scope.get("state", {})
    route = _route(scope)
    ctx = state.get("call_context")
    if getattr(ctx, "span", None) is not span:
        span.update_name(f"{scope['method']} {route}")
    span.set_attribute("http.request.method", scope["method"])
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if state.get("request_id"):
        span.set_attribute("concord.request_id", state["request_id"])
    if status >= 500:
        tracing.mark_failed(span, f"HTTP {status}")
    span.end()
