"""A grpc.aio server whose handlers are generated from the contract's RPC table."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2, struct_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from concord_server._gen.concord.v1 import common_pb2
from concord_server.api.dispatch import Dispatcher
from concord_server.api.headers import grpc_peer_address, merge_headers
from concord_server.api.rest.request_id import request_id_from
from concord_server.api.rpcs import Rpc
from concord_server.catalogue import rule_of
from concord_server.context import CallContext
from concord_server.errors import ConcordError, ErrorCode
from concord_server.middleware.logging import log_rpc
from concord_server.telemetry import tracing
from concord_server.tracing import HEADER as TRACEPARENT
from concord_server.tracing import start_span

log = logging.getLogger("concord.grpc")
STATUS_DETAILS_KEY = "grpc-status-details-bin"
READINESS_INTERVAL_SECONDS = 2.0


def call_context(context: grpc.aio.ServicerContext[Any, Any], rpc: Rpc) -> CallContext:
    """The call context from gRPC metadata (keys are lower-case already), with the call's span
    (its request id and this server's `traceparent` go back in the trailing metadata)."""
    metadata = context.invocation_metadata() or ()
    headers = merge_headers((k, v) for k, v in metadata if isinstance(v, str))
    ctx = CallContext(
        request_id=request_id_from(headers.get("x-request-id")),
        idempotency_key=headers.get("idempotency-key", ""),
        transport="grpc",
        headers=headers,
        client_address=grpc_peer_address(context.peer() or ""),
    )
    span = tracing.start_server_span(rpc.span_name, headers)
    if span is None:
        trace = start_span(headers.get(TRACEPARENT))
        ctx.trace_id, ctx.span_id, ctx.traceparent = (
            trace.trace_id,
            trace.span_id,
            trace.traceparent(),
        )
    else:
        span.set_attribute("rpc.system", "grpc")
        ctx.span = span
        ctx.trace_id, ctx.span_id, _flags = tracing.ids_of(span)
        ctx.traceparent = tracing.traceparent_of(span)
    return ctx


def _end_span(ctx: CallContext, token: object | None) -> None:
    """Ends the call's span (and restores the context it was current in)."""
    if token is not None:
        tracing.deactivate(token)
    if ctx.span is not None:
        ctx.span.end()


def _trailers(ctx: CallContext) -> tuple[tuple[str, str], ...]:
    """The trailing metadata of every answer: request id, traceparent, replay flag."""
    trailers = [("x-request-id", ctx.request_id)]
    if ctx.traceparent:
        trailers.append((TRACEPARENT, ctx.traceparent))
    if ctx.replayed:
        trailers.append(("idempotent-replayed", "true"))
    return tuple(trailers)


async def abort_with(
    context: grpc.aio.ServicerContext[Any, Any], err: ConcordError, ctx: CallContext
) -> None:
    """Aborts the call with the catalogue's status and the Error body in the status details."""
    rule = rule_of(err.code)
    body = common_pb2.Error(
        code="ERROR_CODE_" + err.code.value,
        message=err.message,
        request_id=ctx.request_id,
    )
    body.details.CopyFrom(_struct(err.details))
    detail = any_pb2.Any()
    detail.Pack(body)
    code = getattr(grpc.StatusCode, rule.grpc_code)
    status = status_pb2.Status(code=code.value[0], message=err.message, details=[detail])
    trailers = [(STATUS_DETAILS_KEY, status.SerializeToString()), *_trailers(ctx)]
    trailers += [(k.lower(), v) for k, v in err.headers.items() if k.lower() not in dict(trailers)]
    await context.abort(code, err.message, trailing_metadata=tuple(trailers))


def _struct(details: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    try:
        s.update(details)
    except (TypeError, ValueError):
        s.update({k: str(v) for k, v in details.items()})
    return s


def decode(rpc: Rpc, raw: bytes) -> Message:
    """The request message of `raw`, or INVALID_ARGUMENT in our words (never protobuf's)."""
    try:
        message: Message = rpc.request_cls.FromString(raw)
    except DecodeError as exc:
        why = "nests deeper than 100 levels" if "Depth" in str(exc) else "is not well-formed"
        raise ConcordError(
            ErrorCode.INVALID_ARGUMENT,
            f"the {rpc.request_cls.DESCRIPTOR.name} message {why}",
            {"reason": "undecodable_message"},
        ) from exc
    return message


class _DeadlinePassed(Exception):
    """The call's deadline passed while the server was still serving it."""

    MESSAGE = "the call's deadline passed before the server could answer"


async def _within_deadline(
    call: Awaitable[Message], context: grpc.aio.ServicerContext[Any, Any]
) -> Message:
    """Awaits `call` but ends it at the call's deadline on this server's own clock, so a lock
    waiter stops waiting then even when the transport reports the client's departure late."""
    remaining = context.time_remaining()
    if remaining is None:
        return await call
    limit = asyncio.timeout(remaining)
    try:
        async with limit:
            return await call
    except TimeoutError:
        if limit.expired():
            raise _DeadlinePassed() from None
        raise


def _unary(rpc: Rpc, dispatcher: Dispatcher) -> Callable[..., Awaitable[Message]]:
    async def handle(raw: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        ctx = call_context(context, rpc)
        token = tracing.activate(ctx.span) if ctx.span is not None else None
        start, code = time.perf_counter(), "CANCELLED"
        try:
            response = await _within_deadline(dispatcher.call(rpc, decode(rpc, raw), ctx), context)
            code = "OK"
            context.set_trailing_metadata(_trailers(ctx))
            return response
        except _DeadlinePassed:
            code = grpc.StatusCode.DEADLINE_EXCEEDED.name
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                _DeadlinePassed.MESSAGE,
                trailing_metadata=_trailers(ctx),
            )
            raise
        except ConcordError as err:
            code = err.code.value
            await abort_with(context, err, ctx)
            raise  # abort raises; this is never reached
        except Exception:
            code = ErrorCode.INTERNAL.value
            log.exception("unexpected failure serving %s", rpc.name)
            await abort_with(context, ConcordError(ErrorCode.INTERNAL, "internal error"), ctx)
            raise
        finally:
            _end_span(ctx, token)
            log_rpc(rpc.name, code, start, ctx.request_id, ctx.trace_id, span_id=ctx.span_id)

    return handle


def _streaming(rpc: Rpc, dispatcher: Dispatcher) -> Callable[..., AsyncIterator[Message]]:
    async def handle(
        raw: bytes, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Message]:
        ctx = call_context(context, rpc)
        context.set_trailing_metadata(_trailers(ctx))
        stream: AsyncIterator[Message] | None = None
        start, code = time.perf_counter(), "CANCELLED"
        try:
            stream = await _open(dispatcher, rpc, raw, ctx)
            # Accepted: the headers tell the client now, not with the first message (a quiet
            # watch may send none for long), so SDKs can open streams eagerly (sdk-helpers.md §3).
            await context.send_initial_metadata(())
            async for item in stream:
                yield item
            code = "OK"
        except ConcordError as err:
            code = err.code.value
            await abort_with(context, err, ctx)
        except Exception:
            code = ErrorCode.INTERNAL.value
            log.exception("unexpected failure serving stream %s", rpc.name)
            await abort_with(context, ConcordError(ErrorCode.INTERNAL, "internal error"), ctx)
        finally:
            _end_span(ctx, None)
            log_rpc(rpc.name, code, start, ctx.request_id, ctx.trace_id, span_id=ctx.span_id)
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:  # a cancelled call ends the handler's stream at once
                await aclose()

    return handle


async def _open(
    dispatcher: Dispatcher, rpc: Rpc, raw: bytes, ctx: CallContext
) -> AsyncIterator[Message]:
    """Admits a server stream with the call's span current (only until the stream is open: a
    generator's later steps may run in another context)."""
    token = tracing.activate(ctx.span) if ctx.span is not None else None
    try:
        return await dispatcher.stream(rpc, decode(rpc, raw), ctx)
    finally:
        if token is not None:
            tracing.deactivate(token)


def service_handlers(dispatcher: Dispatcher) -> dict[str, dict[str, grpc.RpcMethodHandler]]:
    """The method handlers of each Concord service, by service and method name."""
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for rpc in dispatcher.rpcs:
        # Requests arrive as bytes: `decode` answers a malformed one with our own error.
        codec = {"response_serializer": rpc.response_cls.SerializeToString}
        if rpc.server_streaming:
            handler = grpc.unary_stream_rpc_method_handler(_streaming(rpc, dispatcher), **codec)
        else:
            handler = grpc.unary_unary_rpc_method_handler(_unary(rpc, dispatcher), **codec)
        by_service.setdefault(rpc.service, {})[rpc.name] = handler
    return by_service


class _MethodsByPath(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Every Concord method behind one generic handler: one dict lookup per call. (Registered
    methods cost more in grpc.aio: its accept loop keeps one pending task per registered
    method and waits on all of them again for every call.)"""

    def __init__(self, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self._handlers = handlers

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        """The handler of the call's method, None for a method Concord does not have."""
        return self._handlers.get(details.method)


def build_grpc_server(
    dispatcher: Dispatcher, address: str, credentials: grpc.ServerCredentials | None = None
) -> tuple[grpc.aio.Server, int]:
    """A server with the Concord services, standard health and reflection, bound to `address`
    (with TLS when given credentials)."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 4 * 1024 * 1024)])
    by_path = {
        f"/{service}/{name}": handler
        for service, methods in service_handlers(dispatcher).items()
        for name, handler in methods.items()
    }
    server.add_generic_rpc_handlers((_MethodsByPath(by_path),))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = sorted({r.service for r in dispatcher.rpcs})
    reflection.enable_server_reflection(
        [*names, reflection.SERVICE_NAME, "grpc.health.v1.Health"], server
    )
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    server.health_servicer = health_servicer
    server.concord_services = names
    return server, port


async def set_serving(server: grpc.aio.Server, serving: bool) -> None:
    """Updates the standard health service for the whole server and each service."""
    servicer = server.health_servicer
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ["", *server.concord_services]:
        await servicer.set(name, status)


class ReadinessReporter:
    """Keeps the standard health service (grpc.health.v1) in step with readiness: probes every
    `interval` seconds, or at once when poked, and updates the status when it changes."""

    def __init__(
        self,
        server: grpc.aio.Server,
        probe: Callable[[], Awaitable[bool]],
        interval: float = READINESS_INTERVAL_SECONDS,
    ) -> None:
        self._server = server
        self._probe = probe
        self._interval = interval
        self._poked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Reports NOT_SERVING, then follows readiness in the background."""
        await set_serving(self._server, False)
        self._task = asyncio.create_task(self._follow(), name="grpc-readiness")

    def poke(self) -> None:
        """Probes now rather than at the next interval (start-up just completed)."""
        self._poked.set()

    async def stop(self) -> None:
        """Stops following and reports NOT_SERVING, so balancers drain this server."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await set_serving(self._server, False)

    async def _follow(self) -> None:
        serving: bool | None = None
        while True:
            self._poked.clear()
            try:
                now = await self._probe()
            except Exception:  # a probe that fails says "not ready", never ends the loop
                log.exception("readiness probe failed")
                now = False
            if now != serving:
                await set_serving(self._server, now)
                serving = now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), self._interval)
