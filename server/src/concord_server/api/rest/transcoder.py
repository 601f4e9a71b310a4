"""Turns the contract's `google.api.http` bindings into Starlette routes over the dispatcher."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from concord_server import json_text
from concord_server.api import codec
from concord_server.api.dispatch import Dispatcher
from concord_server.api.headers import client_address, merge_raw_headers
from concord_server.api.idempotency import REPLAYED_HEADER
from concord_server.api.rest.event_stream import EventStreamResponse
from concord_server.api.rest.hangups import unless_disconnected
from concord_server.api.rest.resume import apply_last_event_id
from concord_server.api.rest.route_index import RouteIndex
from concord_server.api.rest.sse import sse_events
from concord_server.api.rpcs import Rpc
from concord_server.api.text_rules import refuse_text
from concord_server.context import CallContext
from concord_server.errors import ConcordError, ErrorCode, invalid_argument
from concord_server.middleware.metrics import NamedRoute

JSON = "application/json"
CLIENT_CLOSED = 499  # the client went away before the answer (nginx's "client closed request")
Endpoint = Callable[[Request], Awaitable[Response | EventStreamResponse]]


def request_context(request: Request, transport: str = "rest") -> CallContext:
    """The call context of an HTTP request (headers lower-cased), kept in the request state
    so the access log can name the principal."""
    scope = request.scope
    headers = merge_raw_headers(scope["headers"])
    state = scope.setdefault("state", {})
    client = scope.get("client")
    ctx = CallContext(
        request_id=state.get("request_id", ""),
        idempotency_key=headers.get("idempotency-key", ""),
        transport=transport,
        headers=headers,
        trace_id=state.get("trace_id", ""),
        traceparent=state.get("traceparent", ""),
        span_id=state.get("span_id", ""),
        span=state.get("span"),
        client_address=client_address(client[0] if client else None),
    )
    state["call_context"] = ctx
    return ctx


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or PAYLOAD_TOO_LARGE as soon as it passes the limit."""
    declared = _content_length(request.scope["headers"])
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:  # straight from `receive`: Request.stream()'s generator costs more than this
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _content_length(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The Content-Length a request declares (b"" without one)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            return value
    return b""


def _too_large(limit: int) -> ConcordError:
    return ConcordError(
        ErrorCode.PAYLOAD_TOO_LARGE, f"request body exceeds {limit} bytes", {"limit_bytes": limit}
    )


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    return codec.parse_json(raw, "body", path="")  # a refused string is named as on gRPC


def _undecodable(raw: bytes, part: str, params: list[tuple[str, str]]) -> None:
    """Refuses a percent-encoded path or query (`part`) that is not UTF-8 (the parsers put
    U+FFFD for its bad bytes), naming the parameter that holds the replacement, else `part`.
    Callers skip it for a `raw` without `%`, which is UTF-8 text already."""
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        where = next((name for name, value in params if "\ufffd" in value), part)
        raise invalid_argument(f"{where} is not UTF-8 text", where, reason="invalid_text") from None


def _query_into(rpc: Rpc, request: Request, message: Message) -> None:
    raw = request.scope.get("query_string")
    if not raw:
        return
    if b"%" in raw:
        _undecodable(raw, "query", request.query_params.multi_items())
    fields: Any = message.DESCRIPTOR.fields_by_name
    data: dict[str, Any] = {}
    for key in request.query_params:
        field = fields.get(key)
        if field is None or key in rpc.path_params or rpc.http_body == "*":
            raise invalid_argument(f"unknown query parameter {key!r}", key)
        if field.type == FieldDescriptor.TYPE_MESSAGE and not _is_text_message(field):
            raise invalid_argument(f"{key} cannot be given as a query parameter", key)
        given = request.query_params.getlist(key)
        for text in given:
            refuse_text(text, key)
        values = [codec.parse_text(field, v, key) for v in given]
        if not field.is_repeated and len(values) > 1:
            raise invalid_argument(f"{key} is given more than once", key)
        data[key] = values if field.is_repeated else values[0]
    codec.from_json(data, message)


def _is_text_message(field: Any) -> bool:
    return field.message_type.full_name in (
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
    )


def _path_into(rpc: Rpc, request: Request, message: Message) -> None:
    raw = request.scope.get("raw_path") or b""
    if b"%" in raw:
        given = [(name, str(request.path_params[name])) for name in rpc.path_params]
        _undecodable(raw, "path", given)
    for name in rpc.path_params:
        value = request.path_params[name]
        refuse_text(value, name)
        field: Any = message.DESCRIPTOR.fields_by_name[name]
        current = getattr(message, name)
        if current and current != value:
            raise invalid_argument(f"{name} in the body differs from the path", name)
        codec.set_field(message, name, codec.parse_text(field, value, name), name)


async def build_request(rpc: Rpc, request: Request, body_limit: int) -> Message:
    """The request message from the path, the query and the JSON body."""
    message = rpc.request_cls()
    if rpc.http_body == "*":
        codec.from_json(_parse_json(await read_body(request, body_limit)), message)
    _query_into(rpc, request, message)
    _path_into(rpc, request, message)
    return message


class JsonAnswer(Response):
    """A JSON response whose two headers are written directly: the same bytes as Starlette's
    `Response(body, media_type=JSON)`, without its header-building pass on every answer."""

    media_type = JSON

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = [
            (b"content-length", str(len(body)).encode("ascii")),
            (b"content-type", _JSON_BYTES),
        ]


_JSON_BYTES = JSON.encode("ascii")


def json_response(message: Message, status: int = 200) -> Response:
    """A JSON response (200 unless told) of a message in the contract's JSON mapping."""
    return JsonAnswer(json_text.dumps(codec.to_json(message)), status)


def _status_for(rpc: Rpc, response: Message) -> int:
    if rpc.name == "GetReadiness" and codec.to_json(response).get("status") != "SERVING":
        return 503
    return 200


def make_endpoint(rpc: Rpc, dispatcher: Dispatcher, body_limit: int) -> Endpoint:
    """The Starlette endpoint of one RPC."""

    async def endpoint(request: Request) -> Response | EventStreamResponse:
        message = await build_request(rpc, request, body_limit)
        ctx = request_context(request)
        if rpc.server_streaming:
            apply_last_event_id(rpc.name, request.headers, message)
            stream = await dispatcher.stream(rpc, message, ctx)
            end = ctx.stream_end
            return EventStreamResponse(
                lambda gone: sse_events(
                    stream, ctx.request_id, rpc_name=rpc.name, end=end, gone=gone
                ),
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        response = await unless_disconnected(request.receive, dispatcher.call(rpc, message, ctx))
        if response is None:
            return Response(status_code=CLIENT_CLOSED)
        answer = json_response(response, _status_for(rpc, response))
        if ctx.replayed:
            answer.headers[REPLAYED_HEADER] = "true"
        return answer

    endpoint.__name__ = rpc.name
    return endpoint


def contract_routes(dispatcher: Dispatcher, body_limit: int) -> list[BaseRoute]:
    """One route per RPC, custom-verb paths first so they win over `{param}` paths, behind an
    index by leading path segments (route_index.py)."""
    rpcs = sorted(dispatcher.rpcs, key=lambda r: ":" not in r.http_path.rsplit("/", 1)[-1])
    routes = [
        NamedRoute(r.http_path, make_endpoint(r, dispatcher, body_limit), methods=[r.http_method])
        for r in rpcs
    ]
    return [RouteIndex(routes)]
