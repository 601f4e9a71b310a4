"""The real domains over every transport of a live server: gRPC, WebSocket and SSE."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import websockets
from google.protobuf import any_pb2
from google.rpc import status_pb2

from concord_server._gen.concord.v1 import common_pb2, events_pb2, locks_pb2
from tests.e2e.live import ADMIN_KEY, LiveServer

pytestmark = pytest.mark.slow
AUTH = (("x-api-key", ADMIN_KEY),)


def _stub(
    channel: grpc.aio.Channel, method: str, req: Any, resp: Any
) -> grpc.aio.UnaryUnaryMultiCallable:
    return channel.unary_unary(
        method, request_serializer=req.SerializeToString, response_deserializer=resp.FromString
    )


async def test_grpc_locks_with_typed_error_details(live_server: LiveServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{live_server.grpc_port}") as channel:
        acquire = _stub(
            channel,
            "/concord.v1.LockService/AcquireLock",
            locks_pb2.AcquireLockRequest,
            locks_pb2.AcquireLockResponse,
        )
        first = locks_pb2.AcquireLockRequest(name="grpc-lock", owner="a")
        first.ttl.FromSeconds(30)
        granted = await acquire(first, metadata=AUTH)
        assert granted.lock.fencing_token >= 1
        second = locks_pb2.AcquireLockRequest(name="grpc-lock", owner="b")
        second.ttl.FromSeconds(30)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await acquire(second, metadata=AUTH)
    assert failure.value.code() == grpc.StatusCode.ABORTED
    raw = dict(failure.value.trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(raw)
    error = common_pb2.Error()
    detail: any_pb2.Any = status.details[0]
    assert detail.Unpack(error)
    assert common_pb2.ErrorCode.Name(error.code) == "ERROR_CODE_LOCK_CONFLICT"
    assert error.request_id


async def test_grpc_without_credential_is_unauthenticated(live_server: LiveServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{live_server.grpc_port}") as channel:
        get = _stub(
            channel,
            "/concord.v1.LockService/GetLock",
            locks_pb2.GetLockRequest,
            locks_pb2.GetLockResponse,
        )
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await get(locks_pb2.GetLockRequest(name="x"))
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_grpc_stream_subscription_catches_up_then_goes_live(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(
        base_url=live_server.base_url, headers={"X-API-Key": ADMIN_KEY}
    ) as http:
        await _append(http, "g-stream", "Before")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{live_server.grpc_port}") as channel:
            subscribe = channel.unary_stream(
                "/concord.v1.EventService/SubscribeToStream",
                request_serializer=events_pb2.SubscribeToStreamRequest.SerializeToString,
                response_deserializer=events_pb2.SubscribeToStreamResponse.FromString,
            )
            call = subscribe(
                events_pb2.SubscribeToStreamRequest(stream="g-stream", from_revision=0),
                metadata=AUTH,
            )
            first = await call.read()
            marker = await call.read()
            await _append(http, "g-stream", "After")
            live = await asyncio.wait_for(call.read(), 10)
            call.cancel()
    assert first.event.type == "Before"
    assert marker.caught_up
    assert live.event.type == "After" and live.event.revision == 1


async def _append(http: httpx.AsyncClient, stream: str, kind: str) -> None:
    event = {"event_id": str(uuid.uuid4()), "type": kind, "data": {"k": kind}}
    (await http.post(f"/v1/streams/{stream}:append", json={"events": [event]})).raise_for_status()


async def test_websocket_subscription_with_real_event_store(live_server: LiveServer) -> None:
    url = live_server.base_url.replace("http", "ws") + "/v1/ws"
    async with httpx.AsyncClient(
        base_url=live_server.base_url, headers={"X-API-Key": ADMIN_KEY}
    ) as http:
        await _append(http, "ws-stream", "Before")
        async with websockets.connect(url, additional_headers={"X-API-Key": ADMIN_KEY}) as ws:
            request = {"stream": "ws-stream", "from_revision": 0}
            sub = {"type": "subscribe", "id": "s1", "rpc": "SubscribeToStream", "request": request}
            await ws.send(json.dumps(sub))
            got = [json.loads(await ws.recv()) for _ in range(3)]
            await _append(http, "ws-stream", "After")
            live = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert [m["type"] for m in got] == ["subscribed", "message", "message"]
    assert got[1]["message"]["event"]["type"] == "Before"
    assert got[2]["message"] == {"caught_up": True}
    assert live["message"]["event"]["type"] == "After"


async def test_websocket_connections_are_not_compressed_unless_asked(
    live_server: LiveServer, tmp_path: Path
) -> None:
    offer = {"X-API-Key": ADMIN_KEY}  # websockets offers permessage-deflate by default
    url = live_server.base_url.replace("http", "ws") + "/v1/ws"
    async with websockets.connect(url, additional_headers=offer) as ws:
        assert ws.response is not None
        assert "sec-websocket-extensions" not in ws.response.headers
    compressing = LiveServer(tmp_path, env_overrides={"CONCORD_WS_COMPRESSION": "true"}).start()
    try:
        url = compressing.base_url.replace("http", "ws") + "/v1/ws"
        async with websockets.connect(url, additional_headers=offer) as ws:
            assert ws.response is not None
            extensions = ws.response.headers["sec-websocket-extensions"]
            assert extensions.startswith("permessage-deflate")
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await ws.recv())["type"] == "pong"
    finally:
        compressing.stop()


async def test_websocket_rejects_a_bad_credential(live_server: LiveServer) -> None:
    url = live_server.base_url.replace("http", "ws") + "/v1/ws"
    async with websockets.connect(url, additional_headers={"X-API-Key": "wrong"}) as ws:
        sub = {"type": "subscribe", "id": "s1", "rpc": "WatchLocks", "request": {}}
        await ws.send(json.dumps(sub))
        answer = json.loads(await ws.recv())
    assert answer["type"] == "error" and answer["id"] == "s1"
    assert answer["error"]["code"] == "UNAUTHENTICATED"


def test_sse_subscription_over_rest(live_server: LiveServer) -> None:
    with live_server.client() as client:
        event = {"event_id": str(uuid.uuid4()), "type": "Sse", "data": 1}
        client.post("/v1/streams/sse-stream:append", json={"events": [event]}).raise_for_status()
        params = {"from_revision": 0}
        with client.stream("GET", "/v1/streams/sse-stream:subscribe", params=params) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            frames = []
            for line in response.iter_lines():
                if line.startswith("data: "):
                    frames.append(json.loads(line[6:]))
                if len(frames) == 2:
                    break
    assert frames[0]["event"]["type"] == "Sse"
    assert frames[1] == {"caught_up": True}
