"""The asyncio gRPC transport (`grpc.aio`): unary calls with the REST retry rules, and server
streams; cancelling the awaiting task cancels the call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import grpc
import grpc.aio

from concord._core.endpoint import Endpoint
from concord._core.errors_base import ErrorRegistry
from concord._core.grpc_base import (
    GrpcMethod,
    Metadata,
    deadline,
    log_call,
    metadata,
    method_of,
    open_timeout,
    result,
    retry_delay,
)
from concord._core.grpc_codec import to_contract, to_message
from concord._core.grpc_errors import OpenTimeout, headers_of, map_error
from concord._core.http import AsyncCore, Parse
from concord._core.options import RequestOptions
from concord._core.sse import AsyncStream

T = TypeVar("T")
R = TypeVar("R")


class AsyncGrpcTransport:
    """Sends an asyncio client's calls over one `grpc.aio.Channel`, opened at the first call
    (inside the running event loop) unless one was given; `close` closes an opened one."""

    def __init__(self, open_channel: Callable[[], Any], channel: Any = None) -> None:
        self._open_channel = open_channel
        self._channel = channel
        self._owned = channel is None

    @property
    def channel(self) -> Any:
        """The `grpc.aio.Channel` (opened now if needed)."""
        if self._channel is None:
            self._channel = self._open_channel()
        return self._channel

    async def request(
        self,
        core: AsyncCore,
        endpoint: Endpoint,
        data: Mapping[str, Any],
        parse: Parse[T],
        options: RequestOptions,
    ) -> T:
        """One unary call with retries; the parsed answer or a typed error."""
        method = method_of(endpoint.service, endpoint.rpc)
        message = to_message(data, method.request())
        key = core._idempotency_key(endpoint, options)
        md = metadata(core, options, key)
        timeout = deadline(core, options, stream=False)
        stub = self.channel.unary_unary(
            method.path,
            request_serializer=type(message).SerializeToString,
            response_deserializer=method.response.FromString,
        )

        async def once() -> tuple[Any, Any]:
            call = stub(message, metadata=md, timeout=timeout)
            try:
                return await call, call
            except asyncio.CancelledError:
                call.cancel()
                raise

        response, call = await self._retrying(core, endpoint, options, key, method, md, once)
        initial, trailing = await call.initial_metadata(), await call.trailing_metadata()
        return result(parse, response, initial, trailing)

    async def stream(
        self,
        core: AsyncCore,
        endpoint: Endpoint,
        data: Mapping[str, Any],
        parse: Parse[T],
        options: RequestOptions,
    ) -> AsyncStream[T]:
        """A server stream, open once the server accepted it (a refusal raises here); opening
        is retried like a call."""
        method = method_of(endpoint.service, endpoint.rpc)
        message = to_message(data, method.request())
        md = metadata(core, options, None)
        timeout = deadline(core, options, stream=True)
        stub = self.channel.unary_stream(
            method.path,
            request_serializer=type(message).SerializeToString,
            response_deserializer=method.response.FromString,
        )

        bound = open_timeout(core, options)

        async def once() -> Any:
            call = stub(message, metadata=md, timeout=timeout)
            try:
                try:  # returns once the server accepted or refused the stream
                    await asyncio.wait_for(call.initial_metadata(), bound)
                except asyncio.TimeoutError:
                    call.cancel()
                    raise OpenTimeout() from None
                if call.done() and (code := await call.code()) != grpc.StatusCode.OK:
                    raise grpc.aio.AioRpcError(
                        code,
                        await call.initial_metadata(),
                        await call.trailing_metadata(),
                        await call.details(),
                    )
            except asyncio.CancelledError:
                call.cancel()
                raise
            return call

        call = await self._retrying(core, endpoint, options, None, method, md, once)
        return AsyncGrpcStream(call, parse, core.errors, endpoint.rpc)

    async def _retrying(
        self,
        core: AsyncCore,
        endpoint: Endpoint,
        options: RequestOptions,
        key: str | None,
        method: GrpcMethod,
        md: Metadata,
        attempt_once: Callable[[], Awaitable[R]],
    ) -> R:
        """`attempt_once()` until it succeeds or its error is final (then raised, typed)."""
        retryable = endpoint.retry_safe or key is not None
        limit = core._retries(options)
        attempt = 0
        while True:
            log_call(method, md, attempt)
            try:
                return await attempt_once()
            except grpc.RpcError as exc:
                call: Any = exc
                error = map_error(exc, core.errors, endpoint.rpc)
                headers = headers_of(call.initial_metadata(), call.trailing_metadata())
                delay = retry_delay(error, call.code(), headers, retryable, attempt, limit)
                if delay is None:
                    raise error from exc
            await core._sleep(delay)
            attempt += 1

    async def close(self) -> None:
        """Close the channel if this transport opened it."""
        if self._owned and self._channel is not None:
            await self._channel.close()
            self._channel = None


class AsyncGrpcStream(AsyncStream[T]):
    """Messages of an accepted server stream over gRPC for `async for`; `aclose()` cancels the
    call, and a stream closed by the caller simply ends."""

    def __init__(
        self,
        call: Any,
        parse: Callable[[Mapping[str, Any]], T],
        errors: ErrorRegistry,
        rpc: str,
    ) -> None:
        self._call = call
        self._parse = parse
        self._errors = errors
        self._rpc = rpc
        self._closing = False

    async def __aiter__(self) -> AsyncIterator[T]:
        try:
            async for message in self._call:
                yield self._parse(to_contract(message))
        except grpc.RpcError as exc:
            if not self._closing:
                raise map_error(exc, self._errors, self._rpc) from exc
        except asyncio.CancelledError:
            if not self._closing:
                raise
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Cancel the call (idempotent)."""
        self._closing = True
        self._call.cancel()
