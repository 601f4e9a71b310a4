"""OpenTelemetry spans, collected by the SDK's in-memory exporter, from a real runtime on
SQLite served by uvicorn: one server span per RPC on REST, gRPC, WebSocket and GraphQL,
continuing an incoming `traceparent`; child spans for storage calls and saga HTTP steps; the
step's request carries the trace; nothing is traced when tracing is off."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import uvicorn
import websockets
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from concord_server._gen.concord.v1 import locks_pb2
from concord_server.api.dispatch import Dispatcher
from concord_server.api.graphql import graphql_routes
from concord_server.api.grpc.server import build_grpc_server
from concord_server.api.rpcs import all_rpcs
from concord_server.middleware.metrics import metrics_route
from concord_server.runtime import Runtime
from concord_server.telemetry import tracing
from tests.e2e.callbacks import CallbackServer
from tests.e2e.live import free_port
from tests.fakes import build_app, make_settings

KEY = "tracing-admin-key"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
INCOMING = f"00-{TRACE}-{PARENT}-01"
WAIT_SECONDS = 60.0  # generous: the machine may be busy


@dataclass
class Served:
    """A runtime served over HTTP on loopback, and the spans it finished."""

    base_url: str
    dispatcher: Dispatcher
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        """The finished spans so far."""
        return list(self.exporter.get_finished_spans())

    async def wait_for(self, found: Callable[[list[ReadableSpan]], bool]) -> list[ReadableSpan]:
        """The finished spans once `found` holds for them (spans end after the answer)."""
        for _tick in range(int(WAIT_SECONDS * 20)):
            spans = self.spans()
            if found(spans):
                return spans
            await asyncio.sleep(0.05)
        raise AssertionError(f"spans never matched: {[s.name for s in self.spans()]}")


async def _serve(tmp_path: Path, traced: bool) -> AsyncIterator[Served]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider if traced else None)
    settings = make_settings(
        data_dir=tmp_path, bootstrap_admin_key=KEY, metrics_sample_interval=0, test_hooks=False
    )
    runtime = Runtime(settings)
    dispatcher = await runtime.start()
    app = build_app(dispatcher, settings)
    app.router.routes.extend(graphql_routes(dispatcher, settings))
    app.router.routes.append(metrics_route())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    try:
        for _tick in range(int(WAIT_SECONDS * 50)):
            if server.started:
                break
            await asyncio.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield Served(f"http://127.0.0.1:{port}", dispatcher, exporter)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runtime.stop()
        tracing.use_provider(None)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """Tracing on, into the in-memory exporter."""
    async for s in _serve(tmp_path, traced=True):
        yield s


@pytest.fixture
async def untraced(tmp_path: Path) -> AsyncIterator[Served]:
    """Tracing off."""
    async for s in _serve(tmp_path, traced=False):
        yield s


def _client(served: Served) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=served.base_url, headers={"X-API-Key": KEY}, timeout=30)


def _named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def _hex(value: int, width: int) -> str:
    return f"{value:0{width}x}"


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def test_a_rest_call_is_one_server_span_continuing_the_callers_trace(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="concord.access")
    async with _client(served) as client:
        answer = await client.post(
            "/v1/locks/traced:acquire",
            json={"owner": "a", "ttl": "30s"},
            headers={"traceparent": INCOMING},
        )
    answer.raise_for_status()
    name = "concord.v1.LockService/AcquireLock"
    spans = await served.wait_for(lambda spans: bool(_named(spans, name)))
    [server] = _named(spans, name)
    assert server.kind is SpanKind.SERVER
    assert _hex(server.context.trace_id, 32) == TRACE
    assert server.parent is not None and _hex(server.parent.span_id, 16) == PARENT
    attributes = dict(server.attributes or {})
    assert attributes["concord.rpc"] == "AcquireLock"
    assert attributes["concord.transport"] == "rest"
    assert attributes["concord.principal"] == "bootstrap-admin"
    assert attributes["concord.code"] == "OK"
    assert attributes["concord.request_id"] == answer.headers["x-request-id"]
    assert attributes["http.route"] == "/v1/locks/{name}:acquire"
    assert attributes["http.response.status_code"] == 200
    own = answer.headers["traceparent"].split("-")
    assert own[1] == TRACE and own[2] == _hex(server.context.span_id, 16)
    storage = _children(spans, server)
    assert "sqlite locks.try_acquire" in {s.name for s in storage}
    assert all(s.kind is SpanKind.CLIENT for s in storage)
    [line] = [r for r in caplog.records if r.name == "concord.access"]
    fields = vars(line)  # set by the logging extra, unknown to LogRecord
    assert fields["span_id"] == own[2] and fields["trace_id"] == TRACE


async def test_metrics_scrapes_make_no_spans(served: Served) -> None:
    async with _client(served) as client:
        (await client.get("/metrics")).raise_for_status()
        (await client.get("/v1/health/live")).raise_for_status()
    name = "concord.v1.HealthService/GetLiveness"
    await served.wait_for(lambda spans: bool(_named(spans, name)))
    assert not [s for s in served.spans() if "/metrics" in s.name]


async def test_a_refusal_names_its_code_and_only_server_faults_are_errors(served: Served) -> None:
    async with _client(served) as client:
        lock = {"owner": "a", "ttl": "30s"}
        (await client.post("/v1/locks/held:acquire", json=lock)).raise_for_status()
        refused = await client.post("/v1/locks/held:acquire", json={**lock, "owner": "b"})
    assert refused.status_code == 409
    name = "concord.v1.LockService/AcquireLock"
    spans = await served.wait_for(lambda spans: len(_named(spans, name)) == 2)
    codes = sorted(str((s.attributes or {})["concord.code"]) for s in _named(spans, name))
    assert codes == ["LOCK_CONFLICT", "OK"]
    assert all(s.status.status_code is not StatusCode.ERROR for s in _named(spans, name))


async def test_a_grpc_call_is_a_server_span_in_the_callers_trace(served: Served) -> None:
    server, port = build_grpc_server(served.dispatcher, "127.0.0.1:0")
    await server.start()
    rpc = next(r for r in all_rpcs() if r.name == "GetLock")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = channel.unary_unary(
                rpc.grpc_path,
                request_serializer=rpc.request_cls.SerializeToString,
                response_deserializer=rpc.response_cls.FromString,
            )
            metadata = (("x-api-key", KEY), ("traceparent", INCOMING))
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await stub(locks_pb2.GetLockRequest(name="free"), metadata=metadata)
    finally:
        await server.stop(grace=None)
    assert failure.value.code() is grpc.StatusCode.NOT_FOUND
    name = "concord.v1.LockService/GetLock"
    spans = await served.wait_for(lambda spans: bool(_named(spans, name)))
    [span] = _named(spans, name)
    attributes = dict(span.attributes or {})
    assert span.kind is SpanKind.SERVER and _hex(span.context.trace_id, 32) == TRACE
    assert attributes["concord.transport"] == "grpc" and attributes["concord.code"] == "NOT_FOUND"
    assert attributes["rpc.system"] == "grpc"
    assert "sqlite locks.get" in {s.name for s in _children(spans, span)}


async def test_each_graphql_field_is_a_span_inside_the_http_request(served: Served) -> None:
    query = '{ a: getLock(name: "x") { lock { name } } b: listLocks { locks { name } } }'
    async with _client(served) as client:
        answer = await client.post(
            "/graphql", json={"query": query}, headers={"traceparent": INCOMING}
        )
    assert answer.status_code == 200, answer.text
    spans = await served.wait_for(lambda spans: bool(_named(spans, "POST /graphql")))
    [http] = _named(spans, "POST /graphql")
    fields = {s.name: s for s in _children(spans, http)}
    assert {"concord.v1.LockService/GetLock", "concord.v1.LockService/ListLocks"} <= set(fields)
    for span in fields.values():
        assert span.kind is SpanKind.INTERNAL
        assert dict(span.attributes or {})["concord.transport"] == "graphql"
    assert _hex(http.context.trace_id, 32) == TRACE and http.kind is SpanKind.SERVER


async def test_a_websocket_subscription_is_a_server_span_per_rpc(served: Served) -> None:
    url = served.base_url.replace("http", "ws") + "/v1/ws"
    headers = {"X-API-Key": KEY, "traceparent": INCOMING}
    async with websockets.connect(url, additional_headers=headers) as ws:
        sub = {"type": "subscribe", "id": "w", "rpc": "WatchLocks", "request": {"prefix": "p"}}
        await ws.send(json.dumps(sub))
        assert json.loads(await ws.recv())["type"] == "subscribed"
    name = "concord.v1.LockService/WatchLocks"
    spans = await served.wait_for(lambda spans: bool(_named(spans, name)))
    [span] = _named(spans, name)
    attributes = dict(span.attributes or {})
    assert span.kind is SpanKind.SERVER and _hex(span.context.trace_id, 32) == TRACE
    assert attributes["concord.transport"] == "ws" and attributes["concord.code"] == "OK"


async def _run_saga(served: Served, callbacks: CallbackServer, traceparent: str) -> None:
    step = {"name": "pay", "action": {"http": {"url": callbacks.url("pay")}}}
    saga_id = f"t-{uuid.uuid4().hex[:8]}"
    saga = {"saga_id": saga_id, "definition": {"name": "order", "steps": [step]}}
    async with _client(served) as client:
        started = await client.post("/v1/sagas", json=saga, headers={"traceparent": traceparent})
        started.raise_for_status()
        for _tick in range(int(WAIT_SECONDS * 10)):
            got = (await client.get(f"/v1/sagas/{saga_id}")).json()["saga"]
            if got["state"] == "COMPLETED":
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"saga did not complete: {got}")


async def test_a_saga_http_step_is_traced_under_the_call_that_started_it(served: Served) -> None:
    callbacks = CallbackServer().start()
    try:
        await _run_saga(served, callbacks, INCOMING)
    finally:
        callbacks.stop()
    spans = await served.wait_for(lambda spans: bool(_named(spans, "POST")))
    [start] = _named(spans, "concord.v1.SagaService/StartSaga")
    [step] = _named(spans, "saga step pay")
    [call] = _named(spans, "POST")
    assert step.parent is not None and step.parent.span_id == start.context.span_id
    assert call.parent is not None and call.parent.span_id == step.context.span_id
    assert call.kind is SpanKind.CLIENT
    assert dict(call.attributes or {})["http.response.status_code"] == 200
    assert dict(step.attributes or {})["concord.saga.name"] == "order"
    assert {s.context.trace_id for s in (start, step, call)} == {int(TRACE, 16)}
    assert {"sqlite sagas.save"} <= {s.name for s in _children(spans, step)}
    sent = callbacks.calls[0]["traceparent"].split("-")
    assert sent[1] == TRACE and sent[2] == _hex(call.context.span_id, 16)


async def test_with_tracing_off_nothing_is_traced_but_ids_still_flow(
    untraced: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="concord.access")
    callbacks = CallbackServer().start()
    try:
        await _run_saga(untraced, callbacks, INCOMING)
    finally:
        callbacks.stop()
    assert untraced.spans() == []
    sent = callbacks.calls[0]["traceparent"].split("-")
    assert sent[1] == TRACE and sent[2] != PARENT
    lines = [r for r in caplog.records if r.name == "concord.access"]
    first: Any = lines[0]
    assert first.trace_id == TRACE and len(first.span_id) == 16
