"""The span of each RPC call, whatever its transport: the transport's own span when it made one
for this call (REST, gRPC), else a span made here (WebSocket, GraphQL fields)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from concord_server.api.rpcs import Rpc
from concord_server.context import CallContext
from concord_server.errors import ConcordError, ErrorCode
from concord_server.telemetry import tracing

_UNTRACED: AbstractContextManager[None] = nullcontext()


def rpc_span(rpc: Rpc, ctx: CallContext) -> AbstractContextManager[None]:
    """Runs the call inside its span and records rpc, transport, principal, code, request id
    (without tracing, a context that does nothing)."""
    return _UNTRACED if tracing.tracer() is None else _traced(rpc, ctx)


@contextmanager
def _traced(rpc: Rpc, ctx: CallContext) -> Iterator[None]:
    span, own = ctx.span, ctx.span is None
    if span is None:
        span = tracing.start_server_span(rpc.span_name, ctx.headers)
        assert span is not None
        ctx.span = span
        ctx.trace_id, ctx.span_id, _flags = tracing.ids_of(span)
        ctx.traceparent = tracing.traceparent_of(span)
    else:
        span.update_name(rpc.span_name)
    token = tracing.activate(span) if own else None
    code = "OK"
    try:
        yield
    except ConcordError as err:
        code = err.code.value
        raise
    except BaseException:
        code = ErrorCode.INTERNAL.value
        raise
    finally:
        span.set_attributes(
            {
                "rpc.service": rpc.service,
                "rpc.method": rpc.name,
                "concord.rpc": rpc.name,
                "concord.transport": ctx.transport,
                "concord.principal": ctx.principal.subject,
                "concord.request_id": ctx.request_id,
            }
        )
        tracing.record_code(span, code)
        if token is not None:
            tracing.deactivate(token)
            span.end()
