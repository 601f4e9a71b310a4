"""Request logs: one JSON line per HTTP request and per RPC call (gRPC, GraphQL), with W3C
trace ids. An HTTP endpoint of another transport names it in `scope["state"]["transport"]`."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from concord_server.tracing import HEADER, start_span

log = logging.getLogger("concord.access")
_TRACEPARENT = HEADER.encode()


def _elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def _subject(state: dict[str, Any]) -> str:
    ctx = state.get("call_context")
    return str(getattr(getattr(ctx, "principal", None), "subject", ""))


def log_http(scope: Scope, status: int, start: float) -> None:
    """The log line of an HTTP request (route template, not the raw path)."""
    state: dict[str, Any] = scope.get("state", {})
    route = str(getattr(scope.get("route"), "path", "unmatched"))
    extra: dict[str, Any] = {
        "transport": state.get("transport", "rest"),
        "method": scope["method"],
        "route": route,
        "status": status,
        "duration_ms": _elapsed_ms(start),
        "request_id": state.get("request_id", ""),
        "trace_id": state.get("trace_id", ""),
    }
    subject = _subject(state)
    if subject:
        extra["subject"] = subject
    log.info("%s %s %d", scope["method"], route, status, extra=extra)


def log_rpc(
    rpc: str, code: str, start: float, request_id: str, trace_id: str, transport: str = "grpc"
) -> None:
    """The log line of one RPC call (`code` is OK or the catalogue code)."""
    extra = {
        "transport": transport,
        "rpc": rpc,
        "code": code,
        "duration_ms": _elapsed_ms(start),
        "request_id": request_id,
        "trace_id": trace_id,
    }
    log.info("%s %s", rpc, code, extra=extra)


class AccessLogMiddleware:
    """Starts the request's span (`traceparent` in and out) and logs the request at the end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        incoming = dict(scope["headers"]).get(_TRACEPARENT, b"").decode("latin-1")
        trace = start_span(incoming)
        scope.setdefault("state", {})["trace_id"] = trace.trace_id
        status = 500

        async def send_with_trace(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k != _TRACEPARENT]
                headers.append((_TRACEPARENT, trace.traceparent().encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            log_http(scope, status, start)
