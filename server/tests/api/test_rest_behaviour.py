"""The REST transport over a dispatcher of fakes: auth, limits, health, SSE, faults, CORS."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from concord_server.api.faults import FaultInjector
from concord_server.api.rest.sse import sse_events
from concord_server.errors import ConcordError, ErrorCode
from concord_server.streams import OpenStream
from tests.api.restkit import ACQUIRE, client_for, problem, sse_frames
from tests.fakes import (
    AUTH,
    SECRET,
    FakeComponent,
    FakeGuard,
    FakeRateCheck,
    Harness,
    make_settings,
    serve,
)

# ---------------------------------------------------------------- auth and rate limits


async def test_no_credential_is_401(harness: Harness) -> None:
    async with client_for(harness) as anonymous:
        response = await anonymous.get("/v1/locks/a")
        problem(response, 401, "UNAUTHENTICATED")
        bad = await anonymous.get("/v1/locks/a", headers={"Authorization": "Bearer bad"})
        problem(bad, 401, "UNAUTHENTICATED")
        assert response.headers["www-authenticate"] == 'Bearer realm="concord"'
        key = await anonymous.get("/v1/locks/a", headers={"X-API-Key": "bob"})
        assert key.status_code == 200
        assert "www-authenticate" not in key.headers
    assert not any(
        name == "GetLock" and ctx.principal.subject == "" for name, _, ctx in harness.locks.requests
    )


async def test_authentication_comes_before_validation(harness: Harness) -> None:
    async with client_for(harness) as anonymous:
        response = await anonymous.post("/v1/locks/-bad-:acquire", json={})
    problem(response, 401, "UNAUTHENTICATED")


async def test_public_rpcs_need_no_credential(harness: Harness) -> None:
    async with client_for(harness) as anonymous:
        response = await anonymous.get("/v1/health/live")
    assert response.status_code == 200
    assert response.json()["status"] == "SERVING"
    assert harness.guard.authentications == 0


async def test_permission_denied_is_403() -> None:
    harness = Harness(settings=make_settings(), guard=FakeGuard(deny=("locks.read",)))
    async with client_for(harness, **AUTH) as c:
        response = await c.get("/v1/locks/a")
        body = problem(response, 403, "PERMISSION_DENIED")
        assert body["details"] == {"action": "locks.read", "resource": "locks/a"}
        allowed = await c.post("/v1/locks/a:acquire", json=ACQUIRE)
        assert allowed.status_code == 200
    assert not any(name == "GetLock" for name, _, _ in harness.locks.requests)


async def test_rate_limited_is_429_with_retry_after() -> None:
    harness = Harness(settings=make_settings(), rate=FakeRateCheck(limited=("bob",)))
    async with client_for(harness, Authorization="Bearer bob") as c:
        response = await c.get("/v1/locks/a")
    problem(response, 429, "RATE_LIMITED")
    assert response.headers["retry-after"] == "7"
    assert harness.rate.keys == ["bob|"]
    assert harness.guard.checks == []


# ---------------------------------------------------------------- health


async def test_readiness_is_503_when_a_component_fails() -> None:
    components = [FakeComponent("locks", "sqlite"), FakeComponent("events", "redis", fail=True)]
    harness = Harness(settings=make_settings(), components=components)
    async with client_for(harness) as c:
        response = await c.get("/v1/health/ready")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["status"] == "NOT_SERVING"
        by_name = {c["name"]: c for c in body["components"]}
        assert by_name["locks"] == {
            "name": "locks",
            "backend": "sqlite",
            "status": "SERVING",
            "message": "",
        }
        assert by_name["events"]["status"] == "NOT_SERVING"
        assert "does not answer" in by_name["events"]["message"]
        components[1].fail = False
        healthy = await c.get("/v1/health/ready")
        assert healthy.status_code == 200 and healthy.json()["status"] == "SERVING"


async def test_readiness_names_no_engine_address() -> None:
    refused = ConnectionRefusedError(111, "Connect call failed ('10.1.2.3', 5432)")
    components = [FakeComponent("locks", "postgresql", fail=True, raises=refused)]
    harness = Harness(settings=make_settings(), components=components)
    async with client_for(harness) as c:
        response = await c.get("/v1/health/ready")
    assert response.status_code == 503
    assert response.json()["components"][0]["message"] == "cannot connect"


# ---------------------------------------------------------------- server-sent events


async def test_sse_streams_data_frames_in_order(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/locks:watch", params={"prefix": "p"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    frames = sse_frames(response.text)
    assert [set(f) for f in frames] == [{"data"}] * 3
    messages = [json.loads(f["data"]) for f in frames]
    assert [m["type"] for m in messages] == ["ACQUIRED", "RELEASED", "EXPIRED"]
    assert [m["lock"]["name"] for m in messages] == ["p0", "p1", "p2"]


async def test_sse_reports_a_concord_error_midway(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/locks:watch", params={"prefix": "fail"}, headers={"X-Request-ID": "sse-1"}
    )
    assert response.status_code == 200
    frames = sse_frames(response.text)
    assert [f.get("event", "message") for f in frames] == ["message", "message", "error"]
    error = json.loads(frames[-1]["data"])
    assert error == {
        "type": "https://github.com/concordhq/concord/blob/main/docs/errors.md#unavailable",
        "title": "Unavailable",
        "status": 503,
        "detail": "storage went away",
        "code": "UNAVAILABLE",
        "message": "storage went away",
        "details": {"n": 2},
        "request_id": "sse-1",
    }


async def test_sse_hides_an_unexpected_failure(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/locks:watch", params={"prefix": "boom"})
    frames = sse_frames(response.text)
    assert frames[-1]["event"] == "error"
    assert json.loads(frames[-1]["data"])["code"] == "INTERNAL"
    assert SECRET not in response.text


async def test_sse_admission_failures_are_plain_http_errors(harness: Harness) -> None:
    async with client_for(harness) as anonymous:
        response = await anonymous.get("/v1/locks:watch")
    problem(response, 401, "UNAUTHENTICATED")
    assert not any(name == "WatchLocks" for name, _, _ in harness.locks.requests)


async def test_sse_oneof_messages(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/streams/s1:subscribe", params={"from_revision": 0})
    frames = [json.loads(f["data"]) for f in sse_frames(response.text)]
    assert frames[-1] == {"caught_up": True}
    assert frames[0]["event"]["data"] == "e0" and frames[0]["event"]["revision"] == 0


async def test_sse_handlers_that_check_first_answer_a_plain_error(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/v1/cache/missing:watch")
    problem(missing, 404, "NOT_FOUND")
    crashed = await client.get("/v1/cache/boom:watch")
    problem(crashed, 500, "INTERNAL")
    assert SECRET not in crashed.text
    ok = await client.get("/v1/cache/ns:watch")
    assert ok.status_code == 200
    frames = [json.loads(f["data"]) for f in sse_frames(ok.text)]
    assert [(f["type"], f["key"]) for f in frames] == [("SET", "a"), ("SET", "b")]


def _nothing() -> None:
    """Nothing to release."""


async def test_sse_keepalive_comments_while_idle() -> None:
    from concord_server._gen.concord.v1 import locks_pb2

    async def slow() -> AsyncGenerator[Any, None]:
        await asyncio.sleep(0.2)
        yield locks_pb2.WatchLocksResponse(type=locks_pb2.LOCK_EVENT_TYPE_ACQUIRED)

    chunks = [c async for c in sse_events(OpenStream(slow(), _nothing), "r", keepalive=0.03)]
    assert chunks[0] == b": keep-alive\n\n"
    assert chunks[-1] == b'data: {"type":"ACQUIRED"}\n\n'
    assert len(chunks) >= 3


async def test_sse_error_frame_from_sse_events() -> None:
    async def failing() -> AsyncGenerator[Any, None]:
        raise ConcordError(ErrorCode.NOT_FOUND, "no stream", {"resource": "stream"})
        yield  # pragma: no cover

    chunks = [c async for c in sse_events(OpenStream(failing(), _nothing), "rid")]
    assert len(chunks) == 1 and chunks[0].startswith(b"event: error\ndata: ")
    assert chunks[0].endswith(b"\n\n") and chunks[0].count(b"\n") == 3
    body = json.loads(chunks[0].split(b"data: ", 1)[1])
    assert body["code"] == "NOT_FOUND" and body["status"] == 404
    assert (body["message"], body["details"], body["request_id"]) == (
        "no stream",
        {"resource": "stream"},
        "rid",
    )


async def test_sse_client_disconnect_closes_the_handler_stream(harness: Harness) -> None:
    async with serve(harness.app) as address, httpx.AsyncClient() as c:
        url = f"http://{address}/v1/locks:watch?prefix=forever"
        async with c.stream("GET", url, headers=AUTH) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    break
        await asyncio.wait_for(harness.locks.watch_closed.wait(), 5)


async def test_a_hung_up_sse_watch_leaves_no_reference_cycles(harness: Harness) -> None:
    """What a closed watch held is freed as it ends, not at some later full collection."""
    gc.collect()
    gc.disable()
    try:
        async with serve(harness.app) as address, httpx.AsyncClient() as c:
            url = f"http://{address}/v1/locks:watch?prefix=forever"
            async with c.stream("GET", url, headers=AUTH) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        break
            await asyncio.wait_for(harness.locks.watch_closed.wait(), 5)
            await asyncio.sleep(0.1)  # the answer's task ends after the handler's stream
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            left = [o for o in gc.garbage if _of_a_watch(o)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []


def _of_a_watch(thing: object) -> bool:
    """The handler's stream, or a frame or coroutine of the SSE answer or of the handler."""
    if isinstance(thing, OpenStream):
        return True
    code = getattr(thing, "f_code", None) or getattr(thing, "ag_code", None)
    return getattr(code, "co_name", "") in {"sse_events", "WatchLocks", "stream_response"}


# ---------------------------------------------------------------- fault injection


async def test_fault_header_fails_the_first_calls_when_enabled() -> None:
    harness = Harness(settings=make_settings(test_hooks=True), faults=FaultInjector())
    fault = {"X-Concord-Test-Fault": "k;2;UNAVAILABLE"}
    async with client_for(harness, **AUTH) as c:
        first = await c.get("/v1/locks/a", headers=fault)
        second = await c.get("/v1/locks/a", headers=fault)
        third = await c.get("/v1/locks/a", headers=fault)
        other_key = await c.get("/v1/locks/a", headers={"X-Concord-Test-Fault": "j;1;RATE_LIMITED"})
        bad = await c.get("/v1/locks/a", headers={"X-Concord-Test-Fault": "k;x;NOPE"})
    problem(first, 503, "UNAVAILABLE")
    problem(second, 503, "UNAVAILABLE")
    assert third.status_code == 200, third.text
    problem(other_key, 429, "RATE_LIMITED")
    assert other_key.headers["retry-after"] == "0"
    problem(bad, 400, "INVALID_ARGUMENT")
    assert [name for name, _, _ in harness.locks.requests] == ["GetLock"]


async def test_fault_header_with_an_rpc_name_affects_only_that_rpc() -> None:
    harness = Harness(settings=make_settings(test_hooks=True), faults=FaultInjector())
    fault = {"X-Concord-Test-Fault": "k;1;UNAVAILABLE;ListLocks"}
    async with client_for(harness, **AUTH) as c:
        other_rpc = await c.get("/v1/locks/a", headers=fault)
        named_rpc = await c.get("/v1/locks", headers=fault)
    assert other_rpc.status_code == 200, other_rpc.text
    problem(named_rpc, 503, "UNAVAILABLE")


async def test_fault_header_is_ignored_when_disabled(harness: Harness) -> None:
    assert harness.faults is None
    async with client_for(harness, **AUTH) as c:
        for _ in range(3):
            response = await c.get(
                "/v1/locks/a", headers={"X-Concord-Test-Fault": "k;2;UNAVAILABLE"}
            )
            assert response.status_code == 200


# ---------------------------------------------------------------- CORS


async def test_cors_exposes_the_request_id() -> None:
    harness = Harness(settings=make_settings(cors_origins=["https://app.example"]))
    async with client_for(harness, Origin="https://app.example") as c:
        preflight = await c.options(
            "/v1/locks/a",
            headers={"Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        response = await c.get("/v1/health/live")
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed and "retry-after" in exposed
