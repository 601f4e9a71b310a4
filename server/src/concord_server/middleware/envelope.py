"""One ASGI middleware around every HTTP request: the request id, the request's span with
`traceparent` in and out, the access log line and the HTTP metrics, with one `send` wrapper.
A WebSocket handshake gets the request id only (its calls are logged per RPC)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from concord_server.api.rest.request_id import HEADER as REQUEST_ID
from concord_server.api.rest.request_id import request_id_from
from concord_server.middleware.logging import TRACEPARENT, begin_span, finish_span, log_http
from concord_server.middleware.metrics import IN_FLIGHT, record_http
from concord_server.telemetry import tracing

_STAMPED = frozenset({REQUEST_ID, TRACEPARENT})  # the envelope's own response headers


def _given(headers: dict[bytes, bytes], name: bytes) -> str:
    return headers.get(name, b"").decode("latin-1")


def _stamp(message: Message, stamp: list[tuple[bytes, bytes]]) -> None:
    """Replaces any request id or traceparent an inner app set by the envelope's own."""
    kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _STAMPED]
    message["headers"] = kept + stamp


async def envelop_http(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Runs `app` for one HTTP request inside the envelope."""
    start = time.perf_counter()
    headers = dict(scope["headers"])
    request_id = request_id_from(_given(headers, REQUEST_ID))
    scope.setdefault("state", {})["request_id"] = request_id
    span, traceparent = begin_span(scope, _given(headers, TRACEPARENT))
    token = tracing.activate(span) if span is not None else None
    stamp = [(TRACEPARENT, traceparent.encode()), (REQUEST_ID, request_id.encode())]
    status = 500

    async def send_stamped(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            _stamp(message, stamp)
        await send(message)

    IN_FLIGHT.inc()
    try:
        await app(scope, receive, send_stamped)
    finally:
        IN_FLIGHT.dec()
        if span is not None:
            tracing.deactivate(token)
            finish_span(span, scope, status)
        log_http(scope, status, start)
        record_http(scope, status, start)


class HttpEnvelope:
    """The envelope as middleware (every request of the app passes it once)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await envelop_http(self.app, scope, receive, send)
        elif scope["type"] == "websocket":
            await self._handshake(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _handshake(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_from(_given(dict(scope["headers"]), REQUEST_ID))
        scope.setdefault("state", {})["request_id"] = request_id
        stamp = [(REQUEST_ID, request_id.encode())]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "websocket.accept":
                _stamp(message, stamp)
            await send(message)

        await self.app(scope, receive, send_with_id)
