"""Resolvers of the root fields: contract JSON in, the dispatcher, contract JSON out.

Every root field is one RPC call through the dispatcher, exactly as REST, gRPC and WebSocket make
it (authentication, rate limiting, validation, RBAC, idempotency, metrics): the arguments are
already the contract's JSON (the binding gives input fields their proto names), the codec turns
them into the request message, and the codec's JSON of the response is what object fields read.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from concord_server.api import codec
from concord_server.api.dispatch import Dispatcher
from concord_server.api.rpcs import Rpc
from concord_server.api.text_rules import check_message_text
from concord_server.context import CallContext
from concord_server.errors import ConcordError, ErrorCode
from concord_server.middleware.logging import log_rpc

TRANSPORT = "graphql"
INPUT_ARGUMENT = "input"


@dataclass
class GraphQLContext:
    """One GraphQL request (HTTP) or operation (WebSocket): the caller and what its calls left."""

    dispatcher: Dispatcher
    headers: dict[str, str]
    request_id: str
    trace_id: str = ""
    span_id: str = ""
    traceparent: str = ""  # the HTTP request's (tracing off: each call's span is that one)
    client_address: str = "unknown"
    idempotency_key: str = ""
    check_text: bool = True  # False when the request text cannot hold NUL or lone surrogates
    log_state: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False
    retry_after: float = 0.0

    def call_context(self) -> CallContext:
        """A fresh call context for one RPC call of this request."""
        return CallContext(
            request_id=self.request_id,
            idempotency_key=self.idempotency_key,
            transport=TRANSPORT,
            headers=dict(self.headers),
            trace_id=self.trace_id,
            span_id=self.span_id,
            traceparent=self.traceparent,
            client_address=self.client_address,
        )

    def finished(self, ctx: CallContext, error: ConcordError | None) -> None:
        """Keeps what the response headers and the access log need from one call."""
        self.replayed = self.replayed or ctx.replayed
        if ctx.principal.subject:
            self.log_state["call_context"] = ctx
        if error is not None:
            self.retry_after = max(self.retry_after, _retry_after(error))


def _retry_after(error: ConcordError) -> float:
    try:
        return float(error.headers.get("Retry-After", "0"))
    except ValueError:
        return 0.0


def request_message(rpc: Rpc, data: Any, gctx: GraphQLContext) -> Message:
    """The request message of contract JSON (INVALID_ARGUMENT naming the field otherwise)."""
    request = codec.from_json(data if data is not None else {}, rpc.request_cls())
    if gctx.check_text:
        check_message_text(request)
    return request


def unary_resolver(rpc: Rpc, *, wrapped: bool, empty: bool) -> Callable[..., Awaitable[Any]]:
    """The resolver of a Query or Mutation field: one unary call through the dispatcher."""

    async def resolve(_root: Any, info: Any, **args: Any) -> Any:
        gctx: GraphQLContext = info.context
        ctx = gctx.call_context()
        start, code, failure = time.perf_counter(), "CANCELLED", None
        try:
            request = request_message(rpc, args.get(INPUT_ARGUMENT) if wrapped else args, gctx)
            response = await gctx.dispatcher.call(rpc, request, ctx)
            code = "OK"
        except ConcordError as err:
            code, failure = err.code.value, err
            raise
        except Exception:
            code = ErrorCode.INTERNAL.value
            raise
        finally:
            gctx.finished(ctx, failure)
            log_rpc(rpc.name, code, start, ctx.request_id, ctx.trace_id, TRANSPORT, ctx.span_id)
        return True if empty else codec.to_json(response)

    return resolve


def subscription_source(rpc: Rpc) -> Callable[..., Awaitable[AsyncIterator[Any]]]:
    """The source of a Subscription field: the server stream, admitted by the dispatcher."""

    async def subscribe(_root: Any, info: Any, **args: Any) -> AsyncIterator[Any]:
        gctx: GraphQLContext = info.context
        ctx = gctx.call_context()
        start = time.perf_counter()
        try:
            request = request_message(rpc, args, gctx)
            stream = await gctx.dispatcher.stream(rpc, request, ctx)
        except ConcordError as err:
            gctx.finished(ctx, err)
            log_rpc(
                rpc.name,
                err.code.value,
                start,
                ctx.request_id,
                ctx.trace_id,
                TRANSPORT,
                ctx.span_id,
            )
            raise
        gctx.finished(ctx, None)
        return _messages(rpc, stream, ctx, start)

    return subscribe


async def _messages(
    rpc: Rpc, stream: AsyncIterator[Message], ctx: CallContext, start: float
) -> AsyncIterator[dict[str, Any]]:
    """The stream's messages as contract JSON; logged once when the stream ends."""
    code = "CANCELLED"
    try:
        async for item in stream:
            yield codec.to_json(item)
        code = "OK"
    except ConcordError as err:
        code = err.code.value
        raise
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
        log_rpc(rpc.name, code, start, ctx.request_id, ctx.trace_id, TRANSPORT, ctx.span_id)
