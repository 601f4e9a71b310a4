"""GraphQL over HTTP at /graphql: POST for every operation but subscriptions, GET for queries.

Statuses follow GraphQL over HTTP: a request that is not a GraphQL request at all (bad JSON, no
`query`, a body over the limit) is a 4xx whatever the media type; a document that cannot run
(syntax, validation, limits, variables) is 400 with `application/graphql-response+json` and 200
with `application/json` (the legacy media type, used unless the client accepts the new one);
anything that executed is 200, each failed field with its error in `errors`.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import ExecutionResult, OperationType
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from concord_server.api import codec
from concord_server.api.dispatch import Dispatcher
from concord_server.api.graphql.engine import (
    DocumentError,
    Engine,
    GraphQLRequest,
    Prepared,
    request_of,
    response_body,
    without_variables,
)
from concord_server.api.graphql.errors import plain_error
from concord_server.api.graphql.resolvers import TRANSPORT, GraphQLContext
from concord_server.api.headers import client_address, merge_headers
from concord_server.api.idempotency import REPLAYED_HEADER
from concord_server.api.rest.transcoder import read_body
from concord_server.api.text_rules import check_document
from concord_server.catalogue import rule_of
from concord_server.errors import ConcordError, ErrorCode, invalid_argument
from concord_server.middleware.metrics import NamedRoute

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class HttpFailure(Exception):
    """A request refused before execution, with the HTTP status to answer."""

    def __init__(
        self, error: ConcordError, status: int | None = None, *, document: bool = False
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status if status is not None else rule_of(error.code).http_status
        self.document = document  # a document that cannot run: its status follows the media


def response_media(accept: str) -> str:
    """`application/graphql-response+json` when the client accepts it, else `application/json`."""
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        if media.strip().lower() == GRAPHQL_RESPONSE and "q=0" not in params.replace(" ", ""):
            return GRAPHQL_RESPONSE
    return JSON


async def read_request(request: Request, body_limit: int) -> tuple[GraphQLRequest, bool]:
    """The GraphQL request of an HTTP request, and whether its text may need a NUL check."""
    if request.method in ("GET", "HEAD"):
        params = request.query_params
        unknown = set(params) - {"query", "operationName", "variables", "extensions"}
        if unknown:
            raise HttpFailure(invalid_argument(f"unknown query parameter {min(unknown)!r}"))
        payload: dict[str, Any] = {"query": params.get("query"), "operationName": None}
        payload["operationName"] = params.get("operationName") or None
        for name in ("variables", "extensions"):
            if params.get(name):
                # Variables are checked where they land, field by field (as on REST and gRPC).
                payload[name] = codec.parse_json(params[name], name, text=name != "variables")
        return request_of(payload), True
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != JSON:
        failure = invalid_argument(f"a GraphQL POST needs Content-Type {JSON}", "Content-Type")
        raise HttpFailure(failure, 415)
    raw = await read_body(request, body_limit)
    document = codec.parse_json(raw, "body", text=False)
    escapes = b"\\u" in raw  # the only way JSON text can carry NUL or a lone surrogate
    if escapes:  # the text outside the variables, which are checked where they land
        check_document(without_variables(document), raw, "body")
    return request_of(document), escapes


def check_method(request: Request, prepared: Prepared) -> None:
    """GET runs queries only (405 otherwise); subscriptions need the WebSocket."""
    if prepared.kind is OperationType.SUBSCRIPTION:
        raise HttpFailure(
            invalid_argument(
                "subscriptions are served over WebSocket (graphql-transport-ws) at /graphql",
                None,
                reason="subscription_over_http",
            ),
            document=True,
        )
    if request.method != "POST" and prepared.kind is not OperationType.QUERY:
        refused = ConcordError(
            ErrorCode.METHOD_NOT_ALLOWED,
            f"a {prepared.kind.value} needs POST",
            headers={"Allow": "POST"},
        )
        raise HttpFailure(refused)


def check_idempotency_key(gctx: GraphQLContext, prepared: Prepared) -> None:
    """An `Idempotency-Key` names one call: a keyed mutation has exactly one root field."""
    keyed = gctx.idempotency_key and prepared.kind is OperationType.MUTATION
    if keyed and len(prepared.root_fields()) > 1:
        raise HttpFailure(
            invalid_argument(
                "Idempotency-Key covers one call: send a mutation with one root field",
                "Idempotency-Key",
                reason="idempotency_key_ambiguous",
            )
        )


def context_of(request: Request, dispatcher: Dispatcher, check_text: bool) -> GraphQLContext:
    """The GraphQL context of an HTTP request (the same headers as REST reads)."""
    headers = merge_headers(request.headers.items())
    state = request.scope.setdefault("state", {})
    return GraphQLContext(
        dispatcher,
        headers,
        str(state.get("request_id", "")),
        trace_id=str(state.get("trace_id", "")),
        span_id=str(state.get("span_id", "")),
        traceparent=str(state.get("traceparent", "")),
        client_address=client_address(request.client.host if request.client else None),
        idempotency_key=headers.get("idempotency-key", ""),
        check_text=check_text,
        log_state=state,
    )


def _answer(body: dict[str, Any], status: int, media: str, headers: dict[str, str]) -> Response:
    text = json.dumps(body, separators=(",", ":"), default=str).encode()
    return Response(text, status_code=status, media_type=media, headers=headers)


def _result_response(result: ExecutionResult, gctx: GraphQLContext, media: str) -> Response:
    body = response_body(result, gctx.request_id)
    status = 400 if "data" not in body and media == GRAPHQL_RESPONSE else 200
    headers: dict[str, str] = {}
    if gctx.retry_after:
        headers["Retry-After"] = f"{gctx.retry_after:g}"
    if gctx.replayed:
        headers[REPLAYED_HEADER] = "true"
    return _answer(body, status, media, headers)


def document_status(media: str) -> int:
    """The status of a document that cannot run (GraphQL over HTTP): 400 in the GraphQL
    response media type, 200 in plain JSON."""
    return 400 if media == GRAPHQL_RESPONSE else 200


def graphql_http_route(engine: Engine, dispatcher: Dispatcher, body_limit: int) -> BaseRoute:
    """The HTTP route at /graphql (GET and POST)."""

    async def endpoint(request: Request) -> Response:
        state = request.scope.setdefault("state", {})
        state["transport"] = TRANSPORT
        request_id = str(state.get("request_id", ""))
        media = response_media(request.headers.get("accept", ""))
        try:
            graphql_request, check_text = await read_request(request, body_limit)
            prepared = engine.prepare(graphql_request, request_id)
            check_method(request, prepared)
            gctx = context_of(request, dispatcher, check_text)
            check_idempotency_key(gctx, prepared)
        except DocumentError as failure:
            return _answer({"errors": failure.errors}, document_status(media), media, {})
        except (HttpFailure, ConcordError) as failure:
            refused = failure if isinstance(failure, HttpFailure) else HttpFailure(failure)
            body = {"errors": [plain_error(refused.error, request_id)]}
            status = document_status(media) if refused.document else refused.status
            return _answer(body, status, media, refused.error.headers)
        return _result_response(await engine.execute(prepared, gctx), gctx, media)

    endpoint.__name__ = "graphql"
    return NamedRoute("/graphql", endpoint, methods=["GET", "POST"])
