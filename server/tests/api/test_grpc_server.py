"""The gRPC transport over a dispatcher of fakes: calls, streams, error details, health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from concord_server._gen.concord.v1 import common_pb2, locks_pb2
from concord_server.api.grpc.server import (
    STATUS_DETAILS_KEY,
    build_grpc_server,
    service_handlers,
    set_serving,
)
from concord_server.api.rpcs import all_rpcs
from concord_server.catalogue import rule_of
from concord_server.errors import ErrorCode
from tests.fakes import SECRET, FakeRateCheck, Harness, duration, make_settings

AUTH = (("authorization", "Bearer alice"),)


@dataclass
class Live:
    harness: Harness
    server: Any
    channel: grpc.aio.Channel

    def unary(self, name: str) -> Any:
        rpc = next(r for r in all_rpcs() if r.name == name)
        return self.channel.unary_unary(
            rpc.grpc_path,
            request_serializer=rpc.request_cls.SerializeToString,
            response_deserializer=rpc.response_cls.FromString,
        )

    def stream(self, name: str) -> Any:
        rpc = next(r for r in all_rpcs() if r.name == name)
        return self.channel.unary_stream(
            rpc.grpc_path,
            request_serializer=rpc.request_cls.SerializeToString,
            response_deserializer=rpc.response_cls.FromString,
        )


@pytest.fixture
async def live() -> AsyncIterator[Live]:
    harness = Harness(settings=make_settings(), rate=FakeRateCheck(limited=("bob",)))
    server, port = build_grpc_server(harness.dispatcher, "127.0.0.1:0")
    assert port > 0
    await server.start()
    await set_serving(server, True)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Live(harness, server, channel)
    finally:
        await channel.close()
        await server.stop(grace=None)


def acquire(name: str = "a", owner: str = "o") -> locks_pb2.AcquireLockRequest:
    return locks_pb2.AcquireLockRequest(name=name, owner=owner, ttl=duration("30s"))


def error_of(exc: grpc.aio.AioRpcError) -> common_pb2.Error:
    """The concord.v1.Error packed in the call's `grpc-status-details-bin` trailer."""
    trailers = dict(exc.trailing_metadata() or ())
    raw = trailers[STATUS_DETAILS_KEY]
    assert isinstance(raw, bytes)
    status = status_pb2.Status.FromString(raw)
    assert status.code == exc.code().value[0]
    assert status.message == exc.details()
    assert len(status.details) == 1
    error = common_pb2.Error()
    assert status.details[0].Unpack(error)
    return error


async def fails(call: Any, code: ErrorCode) -> tuple[grpc.aio.AioRpcError, common_pb2.Error]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    exc = info.value
    assert exc.code() == getattr(grpc.StatusCode, rule_of(code).grpc_code)
    error = error_of(exc)
    assert error.code == common_pb2.ErrorCode.Value("ERROR_CODE_" + code.value)
    return exc, error


async def test_unary_call(live: Live) -> None:
    metadata = (*AUTH, ("idempotency-key", "idem-9"), ("x-request-id", "grpc-1"))
    call = live.unary("AcquireLock")(acquire("a:b", "host"), metadata=metadata)
    response = await call
    assert isinstance(response, locks_pb2.AcquireLockResponse)
    assert response.lock.name == "a:b" and response.lock.fencing_token == 42
    assert dict(await call.trailing_metadata())["x-request-id"] == "grpc-1"
    ctx = live.harness.locks.last_ctx("AcquireLock")
    assert ctx.transport == "grpc"
    assert ctx.idempotency_key == "idem-9"
    assert ctx.request_id == "grpc-1"
    assert ctx.principal.subject == "alice"


async def test_a_catalogue_error_maps_to_its_status_with_details(live: Live) -> None:
    call = live.unary("AcquireLock")(
        acquire(owner="conflict"), metadata=(*AUTH, ("x-request-id", "rid-7"))
    )
    exc, error = await fails(call, ErrorCode.LOCK_CONFLICT)
    assert exc.code() == grpc.StatusCode.ABORTED
    assert exc.details() == "held by someone else"
    assert error.message == "held by someone else"
    assert error.request_id == "rid-7"
    assert dict(error.details) == {"holder": "other", "token": 7}
    assert dict(exc.trailing_metadata() or ())["x-request-id"] == "rid-7"


@pytest.mark.parametrize(
    ("metadata", "request_id_ok"),
    [((("x-request-id", "x" * 300),), False), ((("x-request-id", "a b"),), False), ((), False)],
)
async def test_an_invalid_or_missing_request_id_is_replaced(
    live: Live, metadata: tuple[tuple[str, str], ...], request_id_ok: bool
) -> None:
    call = live.unary("GetLock")(
        locks_pb2.GetLockRequest(name="missing"), metadata=(*AUTH, *metadata)
    )
    exc, error = await fails(call, ErrorCode.NOT_FOUND)
    assert error.request_id.startswith("req_") and len(error.request_id) == 36
    assert dict(exc.trailing_metadata() or ())["x-request-id"] == error.request_id


async def test_unauthenticated(live: Live) -> None:
    await fails(
        live.unary("GetLock")(locks_pb2.GetLockRequest(name="a")), ErrorCode.UNAUTHENTICATED
    )


async def test_invalid_argument_names_the_field(live: Live) -> None:
    call = live.unary("AcquireLock")(acquire(name="-bad"), metadata=AUTH)
    exc, error = await fails(call, ErrorCode.INVALID_ARGUMENT)
    assert error.details["field"] == "name"
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_refused_text_comes_before_the_fields_rules(live: Live) -> None:
    call = live.unary("AcquireLock")(acquire(name="a\x00b"), metadata=AUTH)
    _exc, error = await fails(call, ErrorCode.INVALID_ARGUMENT)
    assert dict(error.details) == {"field": "name", "reason": "invalid_text"}


async def test_rate_limited_carries_retry_after(live: Live) -> None:
    call = live.unary("GetLock")(
        locks_pb2.GetLockRequest(name="a"), metadata=(("authorization", "Bearer bob"),)
    )
    exc, _ = await fails(call, ErrorCode.RATE_LIMITED)
    assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert dict(exc.trailing_metadata() or ())["retry-after"] == "7"


async def test_an_unexpected_failure_is_internal_without_the_message(live: Live) -> None:
    exc, error = await fails(
        live.unary("AcquireLock")(acquire(owner="boom"), metadata=AUTH), ErrorCode.INTERNAL
    )
    assert exc.details() == "internal error"
    assert SECRET not in str(exc) and SECRET not in error.message


async def test_an_unserved_rpc_is_unavailable(live: Live) -> None:
    from concord_server._gen.concord.v1 import sagas_pb2

    call = live.unary("GetSaga")(sagas_pb2.GetSagaRequest(saga_id="s"), metadata=AUTH)
    await fails(call, ErrorCode.UNAVAILABLE)


async def test_public_rpc_without_credentials(live: Live) -> None:
    from concord_server._gen.concord.v1 import health_pb2 as concord_health

    response = await live.unary("GetLiveness")(concord_health.GetLivenessRequest())
    assert response.status == concord_health.SERVING_STATUS_SERVING


async def test_server_stream(live: Live) -> None:
    call = live.stream("WatchLocks")(locks_pb2.WatchLocksRequest(prefix="p"), metadata=AUTH)
    items = [item async for item in call]
    assert [i.lock.name for i in items] == ["p0", "p1", "p2"]
    assert [i.type for i in items] == [1, 2, 3]
    assert await call.code() == grpc.StatusCode.OK


async def test_server_stream_error_midway(live: Live) -> None:
    call = live.stream("WatchLocks")(
        locks_pb2.WatchLocksRequest(prefix="fail"), metadata=(*AUTH, ("x-request-id", "s-1"))
    )
    received: list[Message] = []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for item in call:
            received.append(item)
    assert len(received) == 2
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    error = error_of(info.value)
    assert error.code == common_pb2.ERROR_CODE_UNAVAILABLE
    assert error.request_id == "s-1"
    assert dict(error.details) == {"n": 2}


async def test_server_stream_admission_error(live: Live) -> None:
    call = live.stream("WatchLocks")(locks_pb2.WatchLocksRequest(prefix="p"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in call:
            pass
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_of(info.value).code == common_pb2.ERROR_CODE_UNAUTHENTICATED


async def test_a_stream_that_checks_first_fails_with_its_status(live: Live) -> None:
    from concord_server._gen.concord.v1 import cache_pb2

    call = live.stream("WatchCache")(
        cache_pb2.WatchCacheRequest(namespace="missing"), metadata=AUTH
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in call:
            pass
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    ok = live.stream("WatchCache")(cache_pb2.WatchCacheRequest(namespace="ns"), metadata=AUTH)
    assert [item.key async for item in ok] == ["a", "b"]


async def test_an_accepted_stream_sends_its_headers_before_any_message(live: Live) -> None:
    call = live.stream("WatchLocks")(locks_pb2.WatchLocksRequest(prefix="silent"), metadata=AUTH)
    await asyncio.wait_for(call.initial_metadata(), 10)  # no message will ever come
    call.cancel()


async def test_cancelling_a_stream_closes_the_handler(live: Live) -> None:
    call = live.stream("WatchLocks")(locks_pb2.WatchLocksRequest(prefix="forever"), metadata=AUTH)
    first = await call.read()
    assert first.lock.name == "forever0"
    call.cancel()
    await asyncio.wait_for(live.harness.locks.watch_closed.wait(), 5)


async def test_standard_health_service(live: Live) -> None:
    stub = health_pb2_grpc.HealthStub(live.channel)
    for service in ("", "concord.v1.LockService", "concord.v1.EventService"):
        answer = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING, service
    await set_serving(live.server, False)
    answer = await stub.Check(health_pb2.HealthCheckRequest(service=""))
    assert answer.status == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_the_concord_services(live: Live) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(live.channel)

    async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")
        yield reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="concord.v1.LockService"
        )

    answers = [a async for a in stub.ServerReflectionInfo(ask())]
    listed = {s.name for s in answers[0].list_services_response.service}
    expected = {r.service for r in all_rpcs()}
    assert expected <= listed
    assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= listed
    files = answers[1].file_descriptor_response.file_descriptor_proto
    assert files, answers[1]


class ExplodingGuard:
    """A guard whose authentication fails with a bug, not a catalogue error."""

    async def authenticate(self, headers: Any) -> Any:
        raise RuntimeError(SECRET)

    async def authorize(self, principal: Any, action: str, resource: str) -> None:
        return None


async def test_a_failure_outside_the_handler_is_internal_with_details() -> None:
    harness = Harness(settings=make_settings(), guard=ExplodingGuard())  # type: ignore[arg-type]
    server, port = build_grpc_server(harness.dispatcher, "127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            rpc = next(r for r in all_rpcs() if r.name == "GetLock")
            get = channel.unary_unary(
                rpc.grpc_path,
                request_serializer=rpc.request_cls.SerializeToString,
                response_deserializer=rpc.response_cls.FromString,
            )
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await get(locks_pb2.GetLockRequest(name="a"), metadata=AUTH)
    finally:
        await server.stop(grace=None)
    assert failure.value.code() == grpc.StatusCode.INTERNAL
    assert SECRET not in (failure.value.details() or "")
    assert error_of(failure.value).code == common_pb2.ERROR_CODE_INTERNAL


class DeafContext:
    """A servicer context whose transport never reports that the client left."""

    def __init__(self, remaining: float | None) -> None:
        self.remaining = remaining
        self.status: grpc.StatusCode | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return AUTH

    def peer(self) -> str:
        return "ipv4:127.0.0.1:40000"

    def set_trailing_metadata(self, metadata: Any) -> None:
        return None

    def time_remaining(self) -> float | None:
        return self.remaining

    async def abort(self, code: grpc.StatusCode, details: str = "", **_: Any) -> None:
        self.status = code
        raise grpc.aio.AbortError(details)


async def test_a_call_ends_at_its_deadline_even_when_the_transport_stays_silent() -> None:
    harness = Harness(settings=make_settings())
    handler = service_handlers(harness.dispatcher)["concord.v1.LockService"]["AcquireLock"]
    context = DeafContext(remaining=0.2)
    request = acquire(owner="patient").SerializeToString()
    with pytest.raises(grpc.aio.AbortError):
        await asyncio.wait_for(handler.unary_unary(request, context), 30)
    assert context.status == grpc.StatusCode.DEADLINE_EXCEEDED
    assert harness.locks.wait_ended.is_set()  # the wait in line ended with the call


async def test_a_call_without_a_deadline_is_not_cut_short() -> None:
    harness = Harness(settings=make_settings())
    handler = service_handlers(harness.dispatcher)["concord.v1.LockService"]["AcquireLock"]
    answer = await handler.unary_unary(acquire().SerializeToString(), DeafContext(remaining=None))
    assert answer.lock.fencing_token == 42
