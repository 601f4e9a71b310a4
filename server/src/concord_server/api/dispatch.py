"""One entry point for every transport: validate, authenticate, limit, authorise, invoke."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any, Protocol

from google.protobuf.message import Message

from concord_server.api.auth_limit import FailedAuthLimit
from concord_server.api.faults import FaultInjector
from concord_server.api.idempotency import Replayer
from concord_server.api.rpcs import Rpc, all_rpcs, resource_of
from concord_server.api.text_rules import check_message_text
from concord_server.api.validation import validate
from concord_server.context import CallContext, Principal
from concord_server.drain import Drain
from concord_server.errors import ConcordError, ErrorCode
from concord_server.middleware.metrics import RPC_CALLS
from concord_server.ports.idempotency import IdempotencyStore
from concord_server.streams import OpenStream
from concord_server.telemetry.metrics import RPC_DURATION
from concord_server.telemetry.spans import rpc_span

log = logging.getLogger("concord.dispatch")


class Guard(Protocol):
    """Authentication and authorisation, as `api/security.py` provides them."""

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The caller's principal, or UNAUTHENTICATED."""
        ...

    async def authorize(self, principal: Principal, action: str, resource: str) -> None:
        """Returns when allowed; raises PERMISSION_DENIED otherwise."""
        ...


RateCheck = Callable[[str], Any]  # async (key) -> None, raising RATE_LIMITED


class Dispatcher:
    """Serves every RPC of the contract from the registered handler objects."""

    def __init__(
        self,
        handlers: list[object],
        guard: Guard,
        rate_check: RateCheck | None = None,
        faults: FaultInjector | None = None,
        idempotency: IdempotencyStore | None = None,
        auth_limit: FailedAuthLimit | None = None,
        drain: Drain | None = None,
    ) -> None:
        self._hold: Callable[[], ConcordError] | None = None
        self._drain = drain
        self.install(handlers, guard, rate_check, faults, idempotency, auth_limit)

    def install(
        self,
        handlers: list[object],
        guard: Guard,
        rate_check: RateCheck | None = None,
        faults: FaultInjector | None = None,
        idempotency: IdempotencyStore | None = None,
        auth_limit: FailedAuthLimit | None = None,
    ) -> None:
        """Serves these handlers with these checks from now on (the runtime installs the
        storage-backed ones when its start-up steps have succeeded)."""
        self._guard = guard
        self._auth_limit = auth_limit
        self._replayer = Replayer(idempotency) if idempotency is not None else None
        self._rate_check = rate_check
        self._faults = faults
        self._methods: dict[str, Callable[..., Any]] = {}
        by_service = {getattr(h, "SERVICE", ""): h for h in handlers}
        for rpc in all_rpcs():
            handler = by_service.get(rpc.service)
            method = getattr(handler, rpc.name, None) if handler is not None else None
            if method is not None:
                self._methods[rpc.grpc_path] = method

    def hold(self, reason: Callable[[], ConcordError] | None) -> None:
        """While set, every call but the public health probes fails with `reason()` (the
        server is still connecting to its storage); None serves them again."""
        self._hold = reason

    @property
    def rpcs(self) -> tuple[Rpc, ...]:
        """Every RPC of the contract."""
        return all_rpcs()

    def missing(self) -> list[str]:
        """RPCs of the contract that no handler implements."""
        return [r.grpc_path for r in all_rpcs() if r.grpc_path not in self._methods]

    async def authenticate(self, headers: Mapping[str, str], address: str = "unknown") -> Principal:
        """The principal of a set of credentials (lower-case header names), or UNAUTHENTICATED;
        RATE_LIMITED while the caller's address has failed too often."""
        if self._hold is not None:
            raise self._hold()
        limit = self._auth_limit
        if limit is None:
            return await self._guard.authenticate(headers)
        pair = await limit.admit(address, headers)
        try:
            principal = await self._guard.authenticate(headers)
        except ConcordError as err:
            if err.code is ErrorCode.UNAUTHENTICATED:
                await limit.failed(address, pair)
            raise
        limit.passed(pair)
        return principal

    async def _admit(self, rpc: Rpc, request: Message, ctx: CallContext) -> Callable[..., Any]:
        """Checks a call in this order: started, served, test fault, who (401), how often
        (429), what (400: text, then the fields' rules; so the authoriser only sees well-formed
        resources), allowed (403)."""
        if self._hold is not None and not rpc.public:
            raise self._hold()
        method = self._methods.get(rpc.grpc_path)
        if method is None:
            raise ConcordError(ErrorCode.UNAVAILABLE, f"{rpc.name} is not served by this server")
        if self._faults is not None:
            streaming = rpc.server_streaming
            ctx.stream_end = await self._faults.maybe_fail(ctx.headers, rpc.name, streaming)
        if not rpc.public:
            ctx.principal = await self.authenticate(ctx.headers, ctx.client_address)
            if self._rate_check is not None:
                await self._rate_check(f"{ctx.principal.subject}|{ctx.principal.key_id}")
        if ctx.transport == "grpc":  # JSON transports refused such text while parsing
            check_message_text(request)  # first: NUL is invalid_text, whatever the field's rules
        validate(request)
        if not rpc.public:
            await self._guard.authorize(ctx.principal, rpc.action, resource_of(rpc, request))
        return method

    async def call(self, rpc: Rpc, request: Message, ctx: CallContext) -> Message:
        """Runs a unary RPC; a keyed non-idempotent call goes through idempotent replay."""
        started = time.perf_counter()
        task = self._drain.call_started() if self._drain is not None else None
        try:
            with rpc_span(rpc, ctx):
                method = await self._admit(rpc, request, ctx)
                if self._replayer is None:
                    response = await _invoke(rpc, method, request, ctx)
                else:
                    invoke = functools.partial(_invoke, rpc, method, request, ctx)
                    response = await self._replayer.run(rpc, request, ctx, invoke)
        except ConcordError as err:
            _count(rpc, ctx, err.code.value)
            raise
        except asyncio.CancelledError:
            cut = self._drain.cut_error(task) if self._drain and task else None
            if cut is None:
                raise
            _count(rpc, ctx, cut.code.value)
            raise cut from None
        finally:
            RPC_DURATION.labels(rpc.name).observe(time.perf_counter() - started)
            if self._drain and task:
                self._drain.call_ended(task)
        _count(rpc, ctx, "OK")
        return response

    async def stream(self, rpc: Rpc, request: Message, ctx: CallContext) -> OpenStream[Message]:
        """Runs a server-streaming RPC: admission happens before the first message.

        A handler is an async generator, or a coroutine that checks the request, subscribes and
        then returns an async iterator. The coroutine form fails before the stream starts, so
        its errors become the call's status (an HTTP 404 rather than a 200 with an in-band error
        event), and its subscription exists when the transport reports the stream open: the
        contract's streams all use it, so no change after the open is missed. Transports close
        the returned stream when done, read or not.
        """
        try:
            with rpc_span(rpc, ctx):
                method = await self._admit(rpc, request, ctx)
                source = await _open_stream(rpc, method, request, ctx)
        except ConcordError as err:
            _count(rpc, ctx, err.code.value)
            raise
        return _guarded(rpc, source, ctx, self._drain)


def _count(rpc: Rpc, ctx: CallContext, code: str) -> None:
    """Counts one outcome of an RPC (OK or a catalogue code) per transport."""
    RPC_CALLS.labels(ctx.transport, rpc.name, code).inc()


async def _invoke(
    rpc: Rpc, method: Callable[..., Any], request: Message, ctx: CallContext
) -> Message:
    """Runs a unary handler; anything but a ConcordError becomes a bare INTERNAL."""
    try:
        response: Message = await method(request, ctx)
    except ConcordError:
        raise
    except Exception as exc:
        log.exception("unexpected failure in %s", rpc.name)
        raise ConcordError(ErrorCode.INTERNAL, "internal error") from exc
    _check_type(rpc, response)
    return response


async def _open_stream(
    rpc: Rpc, method: Callable[..., Any], request: Message, ctx: CallContext
) -> AsyncIterator[Message]:
    """The handler's stream, awaiting the coroutine form (whose errors come before the stream)."""
    source = method(request, ctx)
    if inspect.isawaitable(source):
        try:
            source = await source
        except ConcordError:
            raise
        except Exception as exc:
            log.exception("unexpected failure opening stream %s", rpc.name)
            raise ConcordError(ErrorCode.INTERNAL, "internal error") from exc
    stream: AsyncIterator[Message] = source
    return stream


def _check_type(rpc: Rpc, response: object) -> None:
    """INTERNAL for a handler that answers something other than the RPC's response message."""
    if not isinstance(response, rpc.response_cls):
        log.error("%s answered %s, not %s", rpc.name, type(response).__name__, rpc.response_cls)
        raise ConcordError(ErrorCode.INTERNAL, "internal error")


def _guarded(
    rpc: Rpc, source: AsyncIterator[Message], ctx: CallContext, drain: Drain | None
) -> OpenStream[Message]:
    """The handler's stream with checks, ended by a drain; closing it closes the handler's,
    read or not."""
    close = getattr(source, "aclose", None)
    items = _checked(rpc, source, ctx, drain)
    resume_after = getattr(source, "resume_after", None)
    return OpenStream(items, close if close is not None else _nothing, resume_after)


def _nothing() -> None:
    """Nothing to release."""


async def _checked(
    rpc: Rpc, source: AsyncIterator[Message], ctx: CallContext, drain: Drain | None
) -> AsyncGenerator[Message, None]:
    """The handler's items with type checks, bare INTERNAL errors and an outcome count; a
    drain ends them with UNAVAILABLE."""
    code = "OK"
    drained = drain.until_drained(source) if drain is not None else None
    try:
        async for item in drained or source:
            _check_type(rpc, item)
            yield item
    except ConcordError as err:
        code = err.code.value
        raise
    except Exception as exc:
        code = ErrorCode.INTERNAL.value
        log.exception("unexpected failure in stream %s", rpc.name)
        raise ConcordError(ErrorCode.INTERNAL, "internal error") from exc
    finally:
        if drained is not None:
            await drained.aclose()
        _count(rpc, ctx, code)
