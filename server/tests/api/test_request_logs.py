"""Request logs (one JSON line per request), W3C traceparent in and out, and RPC counters."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest

from concord_server._gen.concord.v1 import locks_pb2
from concord_server.api.grpc.server import build_grpc_server
from concord_server.api.rpcs import all_rpcs
from concord_server.logs import JsonFormatter, configure_logging
from concord_server.middleware.metrics import RPC_CALLS
from concord_server.tracing import parse_traceparent, start_span
from tests.fakes import AUTH, Harness, duration, make_settings

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE}-00f067aa0ba902b7-01"
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


@pytest.fixture
def harness() -> Harness:
    return Harness(settings=make_settings())


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=harness.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://concord") as c:
        yield c


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """The access log records, formatted as the server prints them."""
    formatter = JsonFormatter()
    records = [r for r in caplog.records if r.name == "concord.access"]
    return [json.loads(formatter.format(r)) for r in records]


async def test_one_json_line_per_rest_request(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="concord.access")
    r = await client.get("/v1/locks/a", headers={**AUTH, "X-Request-ID": "rid-1"})
    assert r.status_code == 200
    [line] = access_lines(caplog)
    assert line["level"] == "INFO"
    assert line["transport"] == "rest"
    assert line["method"] == "GET"
    assert line["route"] == "/v1/locks/{name}"
    assert line["status"] == 200
    assert line["request_id"] == "rid-1"
    assert line["subject"] == "alice"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert re.fullmatch(r"[0-9a-f]{32}", str(line["trace_id"]))


async def test_rest_errors_are_logged_with_their_status(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="concord.access")
    assert (await client.get("/v1/locks/a")).status_code == 401
    assert (await client.get("/nowhere")).status_code == 404
    unauthenticated, missing = access_lines(caplog)
    assert unauthenticated["status"] == 401 and "subject" not in unauthenticated
    assert missing["status"] == 404 and missing["route"] == "unmatched"


async def test_incoming_traceparent_continues_the_trace(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="concord.access")
    r = await client.get("/v1/health/live", headers={"traceparent": INCOMING})
    match = TRACEPARENT.fullmatch(r.headers["traceparent"])
    assert match is not None
    assert match.group(1) == TRACE
    assert match.group(2) != "00f067aa0ba902b7"  # a span of our own
    assert match.group(3) == "01"
    assert access_lines(caplog)[0]["trace_id"] == TRACE


@pytest.mark.parametrize(
    "bad",
    [
        "garbage",
        f"00-{'0' * 32}-00f067aa0ba902b7-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-00f067aa0ba902b7-01",
        f"00-{TRACE.upper()}-00f067aa0ba902b7-01",
        f"00-{TRACE}-00f067aa0ba902b7-01-extra",
    ],
)
async def test_invalid_traceparent_starts_a_new_trace(client: httpx.AsyncClient, bad: str) -> None:
    r = await client.get("/v1/health/live", headers={"traceparent": bad})
    match = TRACEPARENT.fullmatch(r.headers["traceparent"])
    assert match is not None and match.group(1) != TRACE


def test_future_versions_are_read_by_their_known_fields() -> None:
    assert parse_traceparent(f"01-{TRACE}-00f067aa0ba902b7-01-more") == (TRACE, "01")
    assert start_span(None).trace_id != start_span(None).trace_id


async def test_grpc_calls_are_logged_and_traced(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="concord.access")
    server, port = build_grpc_server(harness.dispatcher, "127.0.0.1:0")
    await server.start()
    rpc = next(r for r in all_rpcs() if r.name == "AcquireLock")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = channel.unary_unary(
                rpc.grpc_path,
                request_serializer=rpc.request_cls.SerializeToString,
                response_deserializer=rpc.response_cls.FromString,
            )
            request = locks_pb2.AcquireLockRequest(name="a", owner="o", ttl=duration("30s"))
            metadata = (("authorization", "Bearer alice"), ("traceparent", INCOMING))
            call = stub(request, metadata=metadata)
            await call
            trailer = str(dict(await call.trailing_metadata())["traceparent"])
            request.owner = "conflict"
            with pytest.raises(grpc.aio.AioRpcError):
                await stub(request, metadata=(("authorization", "Bearer alice"),))
    finally:
        await server.stop(grace=None)
    assert trailer.split("-")[1] == TRACE
    ok, conflict = access_lines(caplog)
    assert ok["transport"] == "grpc" and ok["rpc"] == "AcquireLock" and ok["code"] == "OK"
    assert ok["trace_id"] == TRACE and isinstance(ok["duration_ms"], float)
    assert conflict["code"] == "LOCK_CONFLICT" and conflict["trace_id"] != TRACE
    assert conflict["request_id"]


async def test_rest_outcomes_are_counted(client: httpx.AsyncClient) -> None:
    def count(code: str) -> float:
        value: float = RPC_CALLS.labels("rest", "GetLock", code).value
        return value

    ok, missing = count("OK"), count("NOT_FOUND")
    await client.get("/v1/locks/a", headers=AUTH)
    await client.get("/v1/locks/missing", headers=AUTH)
    assert count("OK") == ok + 1 and count("NOT_FOUND") == missing + 1


def test_httpx_request_lines_stay_out_of_the_log() -> None:
    root, httpx_log = logging.getLogger(), logging.getLogger("httpx")
    handlers, level, httpx_level = root.handlers[:], root.level, httpx_log.level
    try:
        configure_logging("INFO")
        assert not httpx_log.isEnabledFor(logging.INFO)  # a line per etcd probe, per saga step
        assert httpx_log.isEnabledFor(logging.WARNING)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        httpx_log.setLevel(httpx_level)
