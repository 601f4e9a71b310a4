"""GraphQL subscriptions over WebSocket (graphql-transport-ws) at /graphql, end to end through
uvicorn on a random local port."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from concord_server.api.graphql import transport_ws
from tests.api.graphqlkit import graphql_harness
from tests.fakes import SECRET, Harness, serve

TIMEOUT = 10.0
PROTOCOL = "graphql-transport-ws"
WATCH = "subscription($p: String) { watchLocks(prefix: $p) { type lock { name fencingToken } } }"


@pytest.fixture
def harness() -> Harness:
    return graphql_harness()


@pytest.fixture
async def address(harness: Harness) -> AsyncIterator[str]:
    async with serve(harness.app) as addr:
        yield addr


def open_ws(address: str, headers: dict[str, str] | None = None, protocol: bool = True) -> Any:
    return connect(
        f"ws://{address}/graphql",
        subprotocols=[PROTOCOL] if protocol else None,  # type: ignore[list-item]
        additional_headers=headers or {},
        compression=None,
        proxy=None,
    )


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def recv(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return data


async def init(ws: ClientConnection, payload: dict[str, str] | None = None) -> None:
    await send(ws, {"type": "connection_init", "payload": payload or {}})
    assert await recv(ws) == {"type": "connection_ack"}


async def until_end(ws: ClientConnection, op_id: str) -> list[dict[str, Any]]:
    got = []
    while True:
        message = await recv(ws)
        assert message["id"] == op_id
        got.append(message)
        if message["type"] in ("complete", "error"):
            return got


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as caught:
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert caught.value.rcvd is not None
    return caught.value.rcvd.code, caught.value.rcvd.reason


def subscribe(op_id: str, query: str = WATCH, **variables: Any) -> dict[str, Any]:
    return {"type": "subscribe", "id": op_id, "payload": {"query": query, "variables": variables}}


async def test_subscription_streams_then_completes(harness: Harness, address: str) -> None:
    async with open_ws(address) as ws:
        assert ws.subprotocol == PROTOCOL
        await init(ws, {"Authorization": "Bearer alice"})
        await send(ws, subscribe("s1", p="p"))
        got = await until_end(ws, "s1")
    assert [m["type"] for m in got] == ["next", "next", "next", "complete"]
    data = [m["payload"]["data"]["watchLocks"] for m in got[:3]]
    assert [d["type"] for d in data] == ["ACQUIRED", "RELEASED", "EXPIRED"]
    assert [d["lock"]["name"] for d in data] == ["p0", "p1", "p2"]
    ctx = harness.locks.last_ctx("WatchLocks")
    assert ctx.transport == "graphql" and ctx.principal.subject == "alice"


async def test_upgrade_headers_authenticate_too(harness: Harness, address: str) -> None:
    async with open_ws(address, {"X-API-Key": "bob"}) as ws:
        await init(ws)
        await send(ws, subscribe("s1", p="q"))
        assert (await until_end(ws, "s1"))[-1]["type"] == "complete"
    assert harness.locks.last_ctx("WatchLocks").principal.subject == "bob"


async def test_init_payload_replaces_upgrade_credentials(harness: Harness, address: str) -> None:
    async with open_ws(address, {"X-API-Key": "bob"}) as ws:
        await init(ws, {"x-api-key": "carol"})
        await send(ws, subscribe("s1", p="r"))
        await until_end(ws, "s1")
    assert harness.locks.last_ctx("WatchLocks").principal.subject == "carol"


async def test_refused_credential_fails_the_operation(address: str) -> None:
    async with open_ws(address) as ws:
        await init(ws, {"Authorization": "Bearer bad"})
        await send(ws, subscribe("s1"))
        (error,) = await until_end(ws, "s1")
    assert error["type"] == "error"
    assert error["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["payload"][0]["extensions"]["request_id"].startswith("req_")


async def test_stream_failure_is_an_error_message(address: str) -> None:
    async with open_ws(address) as ws:
        await init(ws, {"Authorization": "Bearer alice"})
        await send(ws, subscribe("fail", p="fail"))
        got = await until_end(ws, "fail")
        await send(ws, subscribe("boom", p="boom"))
        crashed = await until_end(ws, "boom")
    assert [m["type"] for m in got] == ["next", "next", "error"]
    extensions = got[-1]["payload"][0]["extensions"]
    assert extensions["code"] == "UNAVAILABLE" and extensions["details"] == {"n": 2}
    assert crashed[-1]["payload"][0]["extensions"]["code"] == "INTERNAL"
    assert SECRET not in json.dumps(crashed)


async def test_client_complete_closes_the_handler_stream(harness: Harness, address: str) -> None:
    async with open_ws(address) as ws:
        await init(ws, {"Authorization": "Bearer alice"})
        await send(ws, subscribe("s1", p="forever"))
        first = await recv(ws)
        assert first["type"] == "next"
        await send(ws, {"type": "complete", "id": "s1"})
        await asyncio.wait_for(harness.locks.watch_closed.wait(), TIMEOUT)
        await send(ws, {"type": "ping"})
        assert await recv(ws) == {"type": "pong"}  # nothing more came for s1
    assert harness.locks.watch_closes == 1


async def test_queries_and_mutations_run_over_the_socket(address: str) -> None:
    async with open_ws(address) as ws:
        await init(ws, {"Authorization": "Bearer alice"})
        await send(ws, subscribe("q1", '{ getLock(name: "x") { lock { name } } }'))
        got = await until_end(ws, "q1")
    assert got[0] == {
        "type": "next",
        "id": "q1",
        "payload": {"data": {"getLock": {"lock": {"name": "x"}}}},
    }
    assert got[1] == {"type": "complete", "id": "q1"}


async def test_document_errors_are_error_messages(address: str) -> None:
    async with open_ws(address) as ws:
        await init(ws)
        await send(ws, subscribe("v1", "subscription { watchLocks { nope } }"))
        (error,) = await until_end(ws, "v1")
    assert error["type"] == "error"
    assert error["payload"][0]["extensions"]["details"] == {"reason": "graphql_validation"}


async def test_subscribe_before_init_closes_4401(address: str) -> None:
    async with open_ws(address) as ws:
        await send(ws, subscribe("s1"))
        assert await closed_with(ws) == (4401, "Unauthorized")


async def test_duplicate_id_closes_4409(address: str) -> None:
    async with open_ws(address) as ws:
        await init(ws, {"Authorization": "Bearer alice"})
        await send(ws, subscribe("s1", p="forever"))
        await recv(ws)
        await send(ws, subscribe("s1", p="forever"))
        assert await closed_with(ws) == (4409, "Subscriber for s1 already exists")


async def test_second_init_closes_4429(address: str) -> None:
    async with open_ws(address) as ws:
        await init(ws)
        await send(ws, {"type": "connection_init"})
        assert (await closed_with(ws))[0] == 4429


async def test_nul_in_a_variable_fails_its_operation_only(address: str) -> None:
    async with open_ws(address) as ws:
        await init(ws, {"Authorization": "Bearer alice"})
        await send(ws, subscribe("s1", p="a\x00b"))
        (error,) = await until_end(ws, "s1")
        assert error["type"] == "error"
        details = error["payload"][0]["extensions"]["details"]
        assert details == {"field": "prefix", "reason": "invalid_text"}
        await send(ws, subscribe("q1", '{ getLock(name: "x") { lock { name } } }'))
        assert (await until_end(ws, "q1"))[-1] == {"type": "complete", "id": "q1"}


NUL_QUERY = json.dumps({"type": "subscribe", "id": "n", "payload": {"query": "{ a }\x00"}})


@pytest.mark.parametrize("raw", ["not json", "[1]", '{"type": "dance"}', '{"type": 5}', NUL_QUERY])
async def test_invalid_message_closes_4400(address: str, raw: str) -> None:
    async with open_ws(address) as ws:
        await ws.send(raw)
        assert (await closed_with(ws))[0] == 4400


async def test_no_init_in_time_closes_4408(address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport_ws, "INIT_TIMEOUT_SECONDS", 0.05)
    async with open_ws(address) as ws:
        assert await closed_with(ws) == (4408, "Connection initialisation timeout")


async def test_other_subprotocols_are_refused_4406(address: str) -> None:
    async with open_ws(address, protocol=False) as ws:
        assert (await closed_with(ws))[0] == 4406


async def test_a_slow_consumer_is_closed_with_4008() -> None:
    harness = graphql_harness(ws_max_queue=8)
    harness.locks.many = 50_000  # about 55 MB of messages if nobody stopped them
    async with serve(harness.app) as addr:
        async with connect(
            f"ws://{addr}/graphql",
            subprotocols=[PROTOCOL],  # type: ignore[list-item]
            compression=None,
            proxy=None,
            max_queue=1,  # the client stops reading the socket once one frame waits unread
        ) as ws:
            await init(ws, {"Authorization": "Bearer alice"})
            flood = 'subscription { watchLocks(prefix: "many") { lock { owner } } }'  # 1 kB each
            await send(ws, subscribe("flood", flood))
            await asyncio.wait_for(harness.locks.watch_closed.wait(), 30)
            produced = harness.locks.watch_produced
            assert produced < harness.locks.many
            code, reason = await closed_with(ws)
        assert (code, reason) == (4008, "slow consumer")
        assert harness.locks.watch_produced == produced  # nothing pumped after the close


async def test_a_reading_consumer_with_the_same_small_limit_gets_everything() -> None:
    harness = graphql_harness(ws_max_queue=8)
    harness.locks.many = 500
    async with serve(harness.app) as addr, open_ws(addr) as ws:
        await init(ws, {"Authorization": "Bearer alice"})
        await send(ws, subscribe("all", 'subscription { watchLocks(prefix: "many") { type } }'))
        got = await until_end(ws, "all")
    assert got[-1]["type"] == "complete"
    assert sum(1 for m in got if m["type"] == "next") == 500
