"""SIGTERM drains: open streams (SSE, gRPC, WebSocket) end with UNAVAILABLE at once, calls in
flight still finish, and the process exits 0."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from pathlib import Path

import grpc
import httpx
import pytest
import websockets

from concord_server._gen.concord.v1 import locks_pb2
from tests.e2e.live import ADMIN_KEY, LiveServer

pytestmark = pytest.mark.slow
AUTH = (("x-api-key", ADMIN_KEY),)
IN_FLIGHT = re.compile(r"^concord_http_requests_in_flight (\S+)$", re.MULTILINE)


async def _in_flight(http: httpx.AsyncClient) -> float:
    """The server's gauge of HTTP requests being answered (this scrape included)."""
    found = IN_FLIGHT.search((await http.get("/metrics")).text)
    assert found is not None
    return float(found[1])


async def _sse_error(lines: object) -> dict[str, object]:
    """The body of the stream's `event: error` frame."""
    assert hasattr(lines, "__anext__")
    saw_error = False
    async for line in lines:  # type: ignore[attr-defined]
        if line == "event: error":
            saw_error = True
        elif saw_error and line.startswith("data: "):
            body: dict[str, object] = json.loads(line.removeprefix("data: "))
            return body
    raise AssertionError("the stream ended without an error event")


async def test_sigterm_ends_streams_and_finishes_calls_in_flight(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", {"CONCORD_SHUTDOWN_GRACE_SECONDS": "60"}).start()
    assert server.process is not None
    headers = {"X-API-Key": ADMIN_KEY}
    try:
        async with (
            httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=120) as http,
            http.stream("GET", "/v1/locks:watch", params={"prefix": "drain"}) as sse,
            grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel,
            websockets.connect(
                server.base_url.replace("http", "ws") + "/v1/ws",
                additional_headers=headers,
            ) as ws,
        ):
            assert sse.status_code == 200
            subscribe = {"prefix": "drain"}
            await ws.send(
                json.dumps(
                    {"type": "subscribe", "id": "w", "rpc": "WatchLocks", "request": subscribe}
                )
            )
            assert json.loads(await ws.recv()) == {"type": "subscribed", "id": "w"}
            watch = channel.unary_stream(
                "/concord.v1.LockService/WatchLocks",
                request_serializer=locks_pb2.WatchLocksRequest.SerializeToString,
                response_deserializer=locks_pb2.WatchLocksResponse.FromString,
            )(locks_pb2.WatchLocksRequest(prefix="drain"), metadata=AUTH)
            await watch.initial_metadata()  # the stream is open
            # A call that takes 10 s (test hook), in flight when SIGTERM arrives.
            slow = asyncio.ensure_future(
                http.post(
                    "/v1/locks/drain-slow:acquire",
                    json={"owner": "w", "ttl": "60s"},
                    headers={"X-Concord-Test-Fault": "drain;1;delay=10000;AcquireLock"},
                )
            )
            while await _in_flight(http) < 3:  # the SSE watch, the slow call, this scrape
                assert not slow.done(), slow.result().text
                await asyncio.sleep(0.05)
            server.process.send_signal(signal.SIGTERM)

            error = await _sse_error(sse.aiter_lines())
            assert error["code"] == "UNAVAILABLE"
            assert error["details"] == {"reason": "shutting_down"}
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                await watch.read()
            assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
            ws_end = json.loads(await ws.recv())
            assert ws_end["type"] == "error" and ws_end["id"] == "w"
            assert ws_end["error"]["details"] == {"reason": "shutting_down"}
            answer = await slow
            assert answer.status_code == 200, answer.text
            assert answer.json()["lock"]["fencing_token"] == 1
        code = await asyncio.to_thread(server.process.wait, 120)
        assert code == 0, server.log_tail()
        assert "shutdown complete" in server.log_tail(80)
    finally:
        try:
            server.stop()
        except subprocess.TimeoutExpired:
            server.kill()


async def _closed_sse_stream(http: httpx.AsyncClient) -> None:
    """Opens a lock watch over SSE and leaves it, as a client that goes away does."""
    async with http.stream("GET", "/v1/locks:watch", params={"prefix": "gone"}) as sse:
        assert sse.status_code == 200


async def test_calls_still_running_after_the_grace_answer_unavailable(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", {"CONCORD_SHUTDOWN_GRACE_SECONDS": "2"}).start()
    assert server.process is not None
    headers = {"X-API-Key": ADMIN_KEY}
    slow = "1;delay=30000;AcquireLock"  # a call that outlasts the grace period
    try:
        async with (
            httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=120) as http,
            grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel,
        ):
            await _closed_sse_stream(http)  # a stream whose client left must not hold the drain
            acquire = channel.unary_unary(
                "/concord.v1.LockService/AcquireLock",
                request_serializer=locks_pb2.AcquireLockRequest.SerializeToString,
                response_deserializer=locks_pb2.AcquireLockResponse.FromString,
            )
            request = locks_pb2.AcquireLockRequest(name="cut-grpc", owner="w")
            request.ttl.FromSeconds(60)
            await channel.channel_ready()  # connected: the call below leaves at once
            grpc_call = acquire(request, metadata=(*AUTH, ("x-concord-test-fault", f"g;{slow}")))
            rest_call = asyncio.ensure_future(
                http.post(
                    "/v1/locks/cut-rest:acquire",
                    json={"owner": "w", "ttl": "60s"},
                    headers={"X-Concord-Test-Fault": f"r;{slow}"},
                )
            )
            while await _in_flight(http) < 2:  # the slow REST call and this scrape
                assert not rest_call.done(), rest_call.result().text
                await asyncio.sleep(0.05)
            await asyncio.sleep(1)  # the gRPC call, sent on an open connection, has arrived
            server.process.send_signal(signal.SIGTERM)
            answer = await rest_call
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == "UNAVAILABLE"
            assert answer.json()["details"] == {"reason": "shutting_down"}
            with pytest.raises(grpc.aio.AioRpcError) as cut:
                await grpc_call
            assert cut.value.code() == grpc.StatusCode.UNAVAILABLE, cut.value.details()
        code = await asyncio.to_thread(server.process.wait, 120)
        assert code == 0, server.log_tail()
        log = server.log_tail(80)
        assert "some streams did not end" not in log
        assert "Exception in ASGI application" not in log
        assert "2 calls did not finish in the 2s grace period" in log
    finally:
        try:
            server.stop()
        except subprocess.TimeoutExpired:
            server.kill()
