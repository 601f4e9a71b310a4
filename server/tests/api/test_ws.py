"""The WebSocket transport at /v1/ws, served by uvicorn on a random local port."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from concord_server.api import ws as ws_module
from tests.fakes import AUTH, SECRET, Harness, make_settings, serve

TIMEOUT = 5.0


@pytest.fixture
def harness() -> Harness:
    return Harness(settings=make_settings())


@pytest.fixture
async def address(harness: Harness) -> AsyncIterator[str]:
    async with serve(harness.app) as addr:
        yield addr


def open_ws(address: str, headers: dict[str, str] | None = None, **options: Any) -> Any:
    return connect(
        f"ws://{address}/v1/ws",
        additional_headers=AUTH if headers is None else headers,
        compression=None,
        proxy=None,
        **options,
    )


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def recv(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return data


async def recv_until(
    ws: ClientConnection, done: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    got = []
    while True:
        message = await recv(ws)
        got.append(message)
        if done(message):
            return got


def subscribe(sub_id: str, rpc: str = "WatchLocks", **request: Any) -> dict[str, Any]:
    return {"type": "subscribe", "id": sub_id, "rpc": rpc, "request": request}


def ended(sub_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m.get("id") == sub_id and m["type"] in ("complete", "error")


async def test_subscribe_messages_complete(harness: Harness, address: str) -> None:
    async with open_ws(address, {**AUTH, "X-Request-ID": "ws-1"}) as ws:
        assert ws.response.headers["x-request-id"] == "ws-1"
        await send(ws, subscribe("s1", prefix="p"))
        got = await recv_until(ws, ended("s1"))
    assert [m["type"] for m in got] == ["subscribed", "message", "message", "message", "complete"]
    assert all(m["id"] == "s1" for m in got)
    messages = [m["message"] for m in got if m["type"] == "message"]
    assert [m["lock"]["name"] for m in messages] == ["p0", "p1", "p2"]
    assert [m["type"] for m in messages] == ["ACQUIRED", "RELEASED", "EXPIRED"]
    ctx = harness.locks.last_ctx("WatchLocks")
    assert ctx.transport == "ws" and ctx.request_id == "ws-1"
    assert ctx.principal.subject == "alice"


async def test_a_request_id_is_generated_for_the_connection(address: str) -> None:
    async with open_ws(address, {**AUTH, "X-Request-ID": "bad id!"}) as ws:
        generated = ws.response.headers["x-request-id"]
        assert generated.startswith("req_")
        await send(ws, subscribe("s1", rpc="Nope"))
        error = await recv(ws)
    assert error["error"]["request_id"] == generated


async def test_oneof_stream_messages(address: str) -> None:
    async with open_ws(address) as ws:
        await send(ws, subscribe("e", rpc="SubscribeToStream", stream="orders", from_revision=0))
        got = await recv_until(ws, ended("e"))
    payloads = [m["message"] for m in got if m["type"] == "message"]
    assert payloads[0]["event"]["stream"] == "orders"
    assert payloads[0]["event"]["data"] == "e0"
    assert payloads[-1] == {"caught_up": True}
    assert got[-1]["type"] == "complete"


async def test_two_subscriptions_share_a_connection(address: str) -> None:
    async with open_ws(address) as ws:
        await send(ws, subscribe("a", prefix="a"))
        await send(ws, subscribe("b", prefix="b"))
        got: list[dict[str, Any]] = []
        completes: set[str] = set()
        while completes != {"a", "b"}:
            message = await recv(ws)
            got.append(message)
            if message["type"] == "complete":
                completes.add(message["id"])
    for sub in ("a", "b"):
        names = [m["message"]["lock"]["name"] for m in got if m["id"] == sub and "message" in m]
        assert names == [f"{sub}0", f"{sub}1", f"{sub}2"]


async def test_an_error_midway_ends_the_subscription(address: str) -> None:
    async with open_ws(address) as ws:
        await send(ws, subscribe("f", prefix="fail"))
        got = await recv_until(ws, ended("f"))
        await send(ws, {"type": "ping"})
        assert await recv(ws) == {"type": "pong"}
    assert [m["type"] for m in got] == ["subscribed", "message", "message", "error"]
    assert got[-1]["id"] == "f"
    error = got[-1]["error"]
    assert error["code"] == "UNAVAILABLE" and error["details"] == {"n": 2}
    assert error["message"] == "storage went away"


async def test_an_unexpected_failure_is_internal_without_the_message(address: str) -> None:
    async with open_ws(address) as ws:
        await send(ws, subscribe("b", prefix="boom"))
        got = await recv_until(ws, ended("b"))
    assert got[-1]["error"]["code"] == "INTERNAL"
    assert SECRET not in json.dumps(got)


@pytest.mark.parametrize("rpc", ["Nope", "AcquireLock", "", None])
async def test_unknown_rpc(address: str, rpc: Any) -> None:
    async with open_ws(address) as ws:
        await send(ws, {"type": "subscribe", "id": "s1", "rpc": rpc})
        message = await recv(ws)
    assert message["type"] == "error" and message["id"] == "s1"
    assert message["error"]["code"] == "INVALID_ARGUMENT"
    assert message["error"]["details"]["field"] == "rpc"
    assert "WatchLocks" in message["error"]["message"]


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"prefix": 5}, "prefix"),
        ({"prefx": "a"}, "prefx"),
        ({"prefix": "p" * 201}, "prefix"),
        ([1], "request"),
        ("x", "request"),
    ],
)
async def test_bad_request(harness: Harness, address: str, request_body: Any, field: str) -> None:
    async with open_ws(address) as ws:
        await send(
            ws, {"type": "subscribe", "id": "s1", "rpc": "WatchLocks", "request": request_body}
        )
        message = await recv(ws)
    assert message["type"] == "error" and message["id"] == "s1"
    assert message["error"]["code"] == "INVALID_ARGUMENT"
    assert message["error"]["details"]["field"] == field
    assert not any(name == "WatchLocks" for name, _, _ in harness.locks.requests)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("{not json", "message"),
        ('{"type": "ping", "n": NaN}', "message"),
        ("[1, 2]", "message"),
        ('{"type": "bogus"}', "type"),
        ('{"type": "subscribe", "rpc": "WatchLocks"}', "id"),
        ('{"type": "subscribe", "id": 5, "rpc": "WatchLocks"}', "id"),
        ('{"type": "auth"}', "auth"),
    ],
)
async def test_bad_client_messages_get_an_error_and_the_connection_stays(
    address: str, raw: str, field: str
) -> None:
    async with open_ws(address) as ws:
        await ws.send(raw)
        message = await recv(ws)
        assert message["type"] == "error"
        assert message["id"] is None
        assert message["error"]["code"] == "INVALID_ARGUMENT"
        assert message["error"]["details"]["field"] == field
        assert set(message["error"]) == {"code", "message", "details", "request_id"}
        await send(ws, {"type": "ping"})
        assert await recv(ws) == {"type": "pong"}


async def test_binary_frames_with_json_are_understood(address: str) -> None:
    async with open_ws(address) as ws:
        await ws.send(b'{"type": "ping"}')
        assert await recv(ws) == {"type": "pong"}
        await ws.send(b"\xff\xfe")
        message = await recv(ws)
        assert message["type"] == "error" and message["error"]["code"] == "INVALID_ARGUMENT"


async def test_duplicate_subscription_id(address: str) -> None:
    async with open_ws(address) as ws:
        await send(ws, subscribe("dup", prefix="forever"))
        assert (await recv(ws))["type"] == "subscribed"
        assert (await recv(ws))["type"] == "message"
        await send(ws, subscribe("dup", prefix="p"))
        message = await recv(ws)
    assert message["type"] == "error" and message["id"] == "dup"
    assert message["error"]["details"]["field"] == "id"


async def test_subscriptions_per_connection_are_limited(
    monkeypatch: pytest.MonkeyPatch, harness: Harness, address: str
) -> None:
    monkeypatch.setattr(ws_module, "MAX_SUBSCRIPTIONS", 3)
    async with open_ws(address) as ws:
        for i in range(3):
            await send(ws, subscribe(f"s{i}", prefix="forever"))
            await recv_until(ws, functools.partial(_message_of, f"s{i}"))
        await send(ws, subscribe("s3", prefix="p"))
        message = await recv(ws)
        assert message["type"] == "error" and message["id"] == "s3"
        assert message["error"]["code"] == "INVALID_ARGUMENT"
        await send(ws, {"type": "unsubscribe", "id": "s0"})
        for _ in range(100):
            if harness.locks.watch_closes == 1:
                break
            await asyncio.sleep(0.02)
        await send(ws, subscribe("s3", prefix="p"))
        got = await recv_until(ws, ended("s3"))
        assert got[-1]["type"] == "complete"


async def test_auth_failure_on_subscribe(harness: Harness, address: str) -> None:
    async with open_ws(address, headers={}) as ws:
        await send(ws, subscribe("s1", prefix="p"))
        message = await recv(ws)
    assert message["type"] == "error" and message["id"] == "s1"
    assert message["error"]["code"] == "UNAUTHENTICATED"
    assert not any(name == "WatchLocks" for name, _, _ in harness.locks.requests)


async def test_auth_message_verifies_the_credential(harness: Harness, address: str) -> None:
    async with open_ws(address, headers={}) as ws:
        await send(ws, {"type": "auth", "authorization": "Bearer bad"})
        rejected = await recv(ws)
        assert rejected["type"] == "error"
        assert rejected["error"]["code"] == "UNAUTHENTICATED"
        await send(ws, {"type": "auth", "authorization": "Bearer carol"})
        assert await recv(ws) == {"type": "authenticated", "subject": "carol"}
        await send(ws, subscribe("s1", prefix="p"))
        got = await recv_until(ws, ended("s1"))
        assert got[-1]["type"] == "complete"
        assert harness.locks.last_ctx("WatchLocks").principal.subject == "carol"
        await send(ws, {"type": "auth", "authorization": "Bearer bad"})
        assert (await recv(ws))["error"]["code"] == "UNAUTHENTICATED"
        await send(ws, subscribe("s2", prefix="q"))
        again = await recv_until(ws, ended("s2"))
        assert again[-1]["type"] == "complete"  # a failed auth keeps the working credential


async def test_auth_message_with_an_api_key_replaces_the_upgrade_credential(
    harness: Harness, address: str
) -> None:
    async with open_ws(address) as ws:
        await send(ws, {"type": "auth", "api_key": "robot"})
        assert await recv(ws) == {"type": "authenticated", "subject": "robot"}
        await send(ws, subscribe("s1", prefix="p"))
        await recv_until(ws, ended("s1"))
    ctx = harness.locks.last_ctx("WatchLocks")
    assert ctx.principal.subject == "robot"
    assert "authorization" not in ctx.headers


async def test_ping_pong(address: str) -> None:
    async with open_ws(address) as ws:
        for _ in range(3):
            await send(ws, {"type": "ping"})
            assert await recv(ws) == {"type": "pong"}
        await send(ws, {"type": "pong"})  # answers to heartbeats are ignored
        await send(ws, {"type": "ping"})
        assert await recv(ws) == {"type": "pong"}


async def test_server_heartbeat(monkeypatch: pytest.MonkeyPatch, harness: Harness) -> None:
    monkeypatch.setattr(ws_module, "HEARTBEAT_SECONDS", 0.05)
    async with serve(harness.app) as addr, open_ws(addr) as ws:
        assert await recv(ws) == {"type": "ping"}


async def test_unsubscribe_stops_the_stream(harness: Harness, address: str) -> None:
    async with open_ws(address) as ws:
        await send(ws, subscribe("s1", prefix="forever"))
        assert (await recv(ws))["type"] == "subscribed"
        assert (await recv(ws))["message"]["lock"]["name"] == "forever0"
        await send(ws, {"type": "unsubscribe", "id": "s1"})
        await asyncio.wait_for(harness.locks.watch_closed.wait(), TIMEOUT)
        await send(ws, {"type": "unsubscribe", "id": "unknown"})  # harmless
        await send(ws, {"type": "ping"})
        assert await recv(ws) == {"type": "pong"}


async def test_an_id_can_be_reused_right_after_unsubscribe(harness: Harness, address: str) -> None:
    async with open_ws(address) as ws:
        await send(ws, subscribe("s1", prefix="forever"))
        await recv_until(ws, lambda m: m["type"] == "message")
        await send(ws, {"type": "unsubscribe", "id": "s1"})
        await send(ws, subscribe("s1", prefix="forever"))
        got = await recv_until(ws, lambda m: m["type"] == "message")
        assert got[0]["type"] == "subscribed"
        await asyncio.sleep(0.05)
        assert harness.locks.watch_closes == 1
        await send(ws, {"type": "unsubscribe", "id": "s1"})  # must reach the second one
        for _ in range(100):
            if harness.locks.watch_closes == 2:
                break
            await asyncio.sleep(0.02)
        assert harness.locks.watch_closes == 2


async def test_leaving_closes_every_subscription(harness: Harness, address: str) -> None:
    async with open_ws(address) as ws:
        await send(ws, subscribe("s1", prefix="forever"))
        await recv_until(ws, lambda m: m["type"] == "message")
    await asyncio.wait_for(harness.locks.watch_closed.wait(), TIMEOUT)


async def test_a_slow_consumer_is_closed_with_4008(monkeypatch: pytest.MonkeyPatch) -> None:
    limit = 8
    harness = Harness(settings=make_settings(ws_max_queue=limit))
    harness.locks.many = 50_000  # about 55 MB of messages if nobody stopped them
    peak = 0
    original_send = ws_module.WsConnection.send

    def measured(self: ws_module.WsConnection, message: dict[str, Any]) -> None:
        nonlocal peak
        original_send(self, message)
        peak = max(peak, self.outbox.qsize())

    monkeypatch.setattr(ws_module.WsConnection, "send", measured)
    async with serve(harness.app) as addr:
        # max_queue=1: the client stops reading the socket once one frame waits unread.
        async with open_ws(addr, max_queue=1) as ws:
            await send(ws, subscribe("flood", prefix="many"))
            await asyncio.wait_for(harness.locks.watch_closed.wait(), 20)
            produced = harness.locks.watch_produced
            assert produced < harness.locks.many
            received = 0
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await asyncio.wait_for(ws.recv(), TIMEOUT)
                    received += 1
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 4008
        assert info.value.rcvd.reason == "slow consumer"
        assert received < produced
        assert peak <= limit
        assert harness.locks.watch_produced == produced  # nothing pumped after the close
        async with open_ws(addr) as again:  # the server is fine
            await send(again, {"type": "ping"})
            assert await recv(again) == {"type": "pong"}


async def test_a_reading_consumer_with_the_same_small_limit_gets_everything() -> None:
    harness = Harness(settings=make_settings(ws_max_queue=8))
    harness.locks.many = 3000
    async with serve(harness.app) as addr, open_ws(addr) as ws:
        await send(ws, subscribe("all", prefix="many"))
        got = await recv_until(ws, ended("all"))
    assert got[-1]["type"] == "complete"
    assert sum(1 for m in got if m["type"] == "message") == 3000


def _message_of(request_id: str, message: dict[str, Any]) -> bool:
    """Whether a frame is a message of the subscription `request_id`."""
    return bool(message["type"] == "message" and message["id"] == request_id)
