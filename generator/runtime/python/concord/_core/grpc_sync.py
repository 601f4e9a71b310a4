"""The blocking gRPC transport: unary calls with the REST retry rules, and server streams."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import grpc

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
from concord._core.http import Parse, SyncCore
from concord._core.options import RequestOptions
from concord._core.sse import Stream

T = TypeVar("T")
R = TypeVar("R")


class SyncGrpcTransport:
    """Sends a sync client's calls over one `grpc.Channel` (closed by `close` when owned)."""

    def __init__(self, channel: grpc.Channel, *, owned: bool) -> None:
        self.channel = channel
        self._owned = owned

    def request(
        self,
        core: SyncCore,
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

        def once() -> tuple[Any, Any]:
            response, call = stub.with_call(message, metadata=md, timeout=timeout)
            return response, call

        response, call = self._retrying(core, endpoint, options, key, method, md, once)
        return result(parse, response, call.initial_metadata(), call.trailing_metadata())

    def stream(
        self,
        core: SyncCore,
        endpoint: Endpoint,
        data: Mapping[str, Any],
        parse: Parse[T],
        options: RequestOptions,
    ) -> Stream[T]:
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

        def once() -> Any:
            call = stub(message, metadata=md, timeout=timeout)
            late = threading.Event()

            def give_up() -> None:
                late.set()
                call.cancel()

            timer = threading.Timer(bound, give_up) if bound is not None else None
            if timer is not None:
                timer.daemon = True
                timer.start()
            try:
                call.initial_metadata()  # returns once the server accepted or refused the stream
            finally:
                if timer is not None:
                    timer.cancel()
            if late.is_set():
                raise OpenTimeout()
            if call.done() and call.code() != grpc.StatusCode.OK:
                raise call  # the call is its own grpc.RpcError
            return call

        call = self._retrying(core, endpoint, options, None, method, md, once)
        return GrpcStream(call, parse, core.errors, endpoint.rpc)

    def _retrying(
        self,
        core: SyncCore,
        endpoint: Endpoint,
        options: RequestOptions,
        key: str | None,
        method: GrpcMethod,
        md: Metadata,
        attempt_once: Callable[[], R],
    ) -> R:
        """`attempt_once()` until it succeeds or its error is final (then raised, typed)."""
        retryable = endpoint.retry_safe or key is not None
        limit = core._retries(options)
        attempt = 0
        while True:
            log_call(method, md, attempt)
            try:
                return attempt_once()
            except grpc.RpcError as exc:
                call: Any = exc
                error = map_error(exc, core.errors, endpoint.rpc)
                headers = headers_of(call.initial_metadata(), call.trailing_metadata())
                delay = retry_delay(error, call.code(), headers, retryable, attempt, limit)
                if delay is None:
                    raise error from exc
            core._sleep(delay)
            attempt += 1

    def close(self) -> None:
        """Close the channel if this transport opened it."""
        if self._owned:
            self.channel.close()


class GrpcStream(Stream[T]):
    """Messages of an accepted server stream over gRPC; leaving the loop or `close()` (from
    any thread) cancels the call, and a stream closed by the caller simply ends."""

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

    def __iter__(self) -> Iterator[T]:
        try:
            for message in self._call:
                yield self._parse(to_contract(message))
        except grpc.RpcError as exc:
            if not self._closing:
                raise map_error(exc, self._errors, self._rpc) from exc
        finally:
            self.close()

    def close(self) -> None:
        """Cancel the call (idempotent; safe from another thread)."""
        self._closing = True
        self._call.cancel()
