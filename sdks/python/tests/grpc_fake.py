"""A real gRPC server on a loopback port whose answers a test scripts (for `concord.grpc`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2, struct_pb2
from google.rpc import status_pb2

from concord._core.grpc_base import method_of
from concord._grpc_gen.concord.v1 import common_pb2

# An answer: (request message, context, call record) -> response (or an iterator of them).
Answer = Callable[[Any, Any, "Call"], Any]


@dataclass
class Call:
    """One call the server received."""

    method: str
    request: Any
    metadata: dict[str, str]
    time_remaining: float | None
    cancelled: threading.Event = field(default_factory=threading.Event)


class FakeServer:
    """Serves every Concord RPC; the n-th call gets the n-th answer (the last one repeats)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((_Handlers(self),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{self.port}"

    def __enter__(self) -> FakeServer:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)

    def answer(self, method: str, request: Any, context: Any) -> Any:
        """Records the call, then runs its scripted answer."""
        remaining = context.time_remaining()
        call = Call(method, request, dict(context.invocation_metadata()), remaining)
        context.add_callback(call.cancelled.set)
        with self._lock:
            self.calls.append(call)
            answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        return answer(request, context, call)


class _Handlers(grpc.GenericRpcHandler):  # type: ignore[misc]
    def __init__(self, fake: FakeServer) -> None:
        self._fake = fake

    def service(self, details: Any) -> Any:
        _, service, rpc = details.method.split("/")
        method = method_of(service, rpc)
        codec = {
            "request_deserializer": method.request().FromString,
            "response_serializer": method.response.SerializeToString,
        }

        def handle(request: Any, context: Any) -> Any:
            return self._fake.answer(details.method, request, context)

        if rpc.startswith(("Watch", "Subscribe")):
            return grpc.unary_stream_rpc_method_handler(handle, **codec)
        return grpc.unary_unary_rpc_method_handler(handle, **codec)


def fail(
    code: grpc.StatusCode,
    catalogue: str = "",
    message: str = "boom",
    trailers: tuple[tuple[str, str], ...] = (),
) -> Answer:
    """An answer that aborts with `code`, with a `concord.v1.Error` in the details when
    `catalogue` (e.g. "LOCK_CONFLICT") is given."""

    def answer(request: Any, context: Any, call: Call) -> Any:
        md: list[tuple[str, str | bytes]] = [("x-request-id", "req-trailer"), *trailers]
        if catalogue:
            body = common_pb2.Error(
                code=f"ERROR_CODE_{catalogue}", message=message, request_id="req-body"
            )
            body.details.CopyFrom(struct_pb2.Struct(fields={"k": struct_pb2.Value(number_value=2)}))
            detail = any_pb2.Any()
            detail.Pack(body)
            status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
            md.append(("grpc-status-details-bin", status.SerializeToString()))
        context.set_trailing_metadata(tuple(md))
        context.abort(code, message)

    return answer


def reply(factory: Callable[[Any], Any]) -> Answer:
    """An answer made from the request."""

    def answer(request: Any, context: Any, call: Call) -> Any:
        return factory(request)

    return answer


def stream(factory: Callable[[Any], Iterator[Any]]) -> Answer:
    """A stream answer: headers at once, then the messages of `factory(request)`."""

    def answer(request: Any, context: Any, call: Call) -> Iterator[Any]:
        context.send_initial_metadata(())
        yield from factory(request)

    return answer


def hang(until: threading.Event) -> Answer:
    """An answer that waits (at most a minute) until `until` is set or the call ends."""

    def answer(request: Any, context: Any, call: Call) -> Any:
        for _ in range(600):
            if until.wait(0.1) or call.cancelled.is_set():
                break
        context.abort(grpc.StatusCode.UNAVAILABLE, "hung up")

    return answer
