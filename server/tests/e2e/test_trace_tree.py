"""A real server exports spans over OTLP to a real OpenTelemetry Collector: one lock acquire
over REST and one saga with an HTTP step produce the expected trace trees."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.callbacks import CallbackServer
from tests.e2e.collector import Collector, Span, collector_binary
from tests.e2e.live import LiveServer

pytestmark = pytest.mark.slow

TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER = "b7ad6b7169203331"
WAIT_SECONDS = 120.0


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[LiveServer, Collector]]:
    """A collector, and a server on SQLite exporting to it (batches sent every 100 ms)."""
    collector_binary()
    collector = Collector(tmp_path / "otelcol").start()
    env = {"CONCORD_OTLP_ENDPOINT": collector.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    server = LiveServer(tmp_path / "data", env)
    try:
        server.start()
        yield server, collector
    finally:
        server.stop()
        collector.stop()


def _one(spans: list[Span], name: str) -> Span:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{name}: {[s.name for s in spans]}"
    return found[0]


def _children(spans: list[Span], parent: Span) -> list[Span]:
    return [s for s in spans if s.parent_id == parent.span_id]


def test_a_rest_lock_acquire_is_a_server_span_with_storage_children(
    traced: tuple[LiveServer, Collector],
) -> None:
    server, collector = traced
    with server.client() as client:
        answer = client.post(
            "/v1/locks/traced-lock:acquire",
            json={"owner": "w", "ttl": "30s"},
            headers={"traceparent": f"00-{TRACE}-{CALLER}-01"},
        )
    answer.raise_for_status()
    name = "concord.v1.LockService/AcquireLock"

    def exported() -> bool:
        spans = [s for s in collector.spans() if s.trace_id == TRACE]
        return any(s.name == name for s in spans) and len(spans) >= 2

    collector.wait_for(exported, "the acquire's spans")
    spans = [s for s in collector.spans() if s.trace_id == TRACE]
    acquire = _one(spans, name)
    assert acquire.parent_id == CALLER and acquire.kind == "SERVER"
    assert acquire.service == "concord"
    assert acquire.attributes["concord.transport"] == "rest"
    assert acquire.attributes["concord.principal"] == "bootstrap-admin"
    assert acquire.attributes["concord.code"] == "OK"
    assert acquire.attributes["concord.request_id"] == answer.headers["x-request-id"]
    assert answer.headers["traceparent"] == f"00-{TRACE}-{acquire.span_id}-01"
    storage = _children(spans, acquire)
    by_name = {s.name: s for s in storage}
    assert by_name["sqlite locks.try_acquire"].attributes["db.system.name"] == "sqlite"
    assert "memory ratelimit.acquire" in by_name  # the caller's rate-limit bucket
    assert {s.kind for s in storage} == {"CLIENT"}


def test_a_saga_http_step_is_traced_under_the_call_that_started_it(
    traced: tuple[LiveServer, Collector],
) -> None:
    server, collector = traced
    callbacks = CallbackServer().start()
    saga_id = f"traced-{uuid.uuid4().hex[:8]}"
    step = {"name": "charge", "action": {"http": {"url": callbacks.url("charge")}}}
    body = {"saga_id": saga_id, "definition": {"name": "checkout", "steps": [step]}}
    try:
        with server.client() as client:
            client.post(
                "/v1/sagas", json=body, headers={"traceparent": f"00-{TRACE}-{CALLER}-01"}
            ).raise_for_status()
            deadline = time.monotonic() + WAIT_SECONDS
            while client.get(f"/v1/sagas/{saga_id}").json()["saga"]["state"] != "COMPLETED":
                assert time.monotonic() < deadline, "the saga did not complete"
                time.sleep(0.1)
    finally:
        callbacks.stop()

    def exported() -> bool:
        return any(s.name == "POST" and s.trace_id == TRACE for s in collector.spans())

    collector.wait_for(exported, "the saga step's spans")
    spans = [s for s in collector.spans() if s.trace_id == TRACE]
    start = _one(spans, "concord.v1.SagaService/StartSaga")
    step_span = _one(spans, "saga step charge")
    call = _one(spans, "POST")
    assert start.parent_id == CALLER and start.kind == "SERVER"
    assert step_span.parent_id == start.span_id
    assert step_span.attributes["concord.saga.id"] == saga_id
    assert step_span.attributes["concord.saga.phase"] == "ACTION"
    assert call.parent_id == step_span.span_id and call.kind == "CLIENT"
    assert call.attributes["http.response.status_code"] == 200
    assert "sqlite sagas.insert" in {s.name for s in _children(spans, start)}
    assert "sqlite sagas.save" in {s.name for s in _children(spans, step_span)}
    sent = callbacks.calls[0]["traceparent"]
    assert sent == f"00-{TRACE}-{call.span_id}-01"
