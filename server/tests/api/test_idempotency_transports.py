"""Idempotent replay as the transports show it: REST headers and gRPC trailing metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import httpx
import pytest

from concord_server._gen.concord.v1 import locks_pb2
from concord_server.api.grpc.server import build_grpc_server
from concord_server.api.rpcs import all_rpcs
from concord_server.backends.memory.idempotency import MemoryIdempotencyStore
from tests.fakes import AUTH, Harness, duration, make_settings

ACQUIRE = {"owner": "host-1", "ttl": "30s"}


@pytest.fixture
def harness() -> Harness:
    return Harness(settings=make_settings(), idempotency=MemoryIdempotencyStore())


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=harness.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://concord", headers=AUTH) as c:
        yield c


async def test_rest_replay_carries_the_header(client: httpx.AsyncClient, harness: Harness) -> None:
    headers = {"Idempotency-Key": "rest-1"}
    first = await client.post("/v1/locks/a:acquire", json=ACQUIRE, headers=headers)
    again = await client.post("/v1/locks/a:acquire", json=ACQUIRE, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len([r for r in harness.locks.requests if r[0] == "AcquireLock"]) == 1


async def test_rest_reuse_with_another_body_is_400(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "rest-2"}
    await client.post("/v1/locks/a:acquire", json=ACQUIRE, headers=headers)
    other = await client.post(
        "/v1/locks/a:acquire", json={**ACQUIRE, "owner": "host-2"}, headers=headers
    )
    assert other.status_code == 400
    assert other.json()["code"] == "INVALID_ARGUMENT"
    assert other.json()["details"] == {"reason": "idempotency_key_reused"}


async def test_rest_replayed_error_has_the_header(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "rest-3"}
    body = {**ACQUIRE, "owner": "conflict"}
    first = await client.post("/v1/locks/a:acquire", json=body, headers=headers)
    again = await client.post("/v1/locks/a:acquire", json=body, headers=headers)
    assert first.status_code == again.status_code == 409
    assert "idempotent-replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert {**first.json(), "request_id": ""} == {**again.json(), "request_id": ""}


async def test_rest_malformed_key_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/locks/a:acquire", json=ACQUIRE, headers={"Idempotency-Key": "a b"})
    assert r.status_code == 400
    assert r.json()["details"]["field"] == "Idempotency-Key"


async def test_grpc_replay_carries_trailing_metadata(harness: Harness) -> None:
    server, port = build_grpc_server(harness.dispatcher, "127.0.0.1:0")
    await server.start()
    rpc = next(r for r in all_rpcs() if r.name == "AcquireLock")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(
                rpc.grpc_path,
                request_serializer=rpc.request_cls.SerializeToString,
                response_deserializer=rpc.response_cls.FromString,
            )
            request = locks_pb2.AcquireLockRequest(name="a", owner="o", ttl=duration("30s"))
            metadata = (("authorization", "Bearer alice"), ("idempotency-key", "g-1"))
            first = call(request, metadata=metadata)
            answer = await first  # sequential: the first call must reach the server first
            again = call(request, metadata=metadata)
            assert answer == await again
            assert "idempotent-replayed" not in dict(await first.trailing_metadata())
            assert dict(await again.trailing_metadata())["idempotent-replayed"] == "true"
            request.owner = "other"
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(request, metadata=metadata)
            assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await server.stop(grace=None)
