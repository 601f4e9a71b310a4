"""Calls carry the current OpenTelemetry span's `traceparent` when `opentelemetry-api` is
installed; nothing without a span, nothing without the package; explicit headers win."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk.trace import TracerProvider

from concord._core import tracecontext
from tests.helpers import LOCK, Recorder, ok

TRACER = TracerProvider().get_tracer("sdk-test")


def _expected(span: object) -> str:
    ctx = span.get_span_context()  # type: ignore[attr-defined]
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def test_a_call_inside_a_span_sends_its_traceparent() -> None:
    rec = Recorder(ok({"lock": LOCK}))
    with TRACER.start_as_current_span("caller") as span:
        rec.client().locks.get("jobs")
    assert rec.requests[0].headers["traceparent"] == _expected(span)


def test_an_async_call_inside_a_span_sends_its_traceparent() -> None:
    rec = Recorder(ok({"lock": LOCK}))

    async def call() -> str:
        async with rec.async_client() as client:
            with TRACER.start_as_current_span("caller") as span:
                await client.locks.get("jobs")
        return _expected(span)

    expected = asyncio.run(call())
    assert rec.requests[0].headers["traceparent"] == expected


def test_no_span_no_traceparent() -> None:
    rec = Recorder(ok({"lock": LOCK}))
    rec.client().locks.get("jobs")
    assert "traceparent" not in rec.requests[0].headers


def test_an_explicit_header_wins_over_the_span() -> None:
    rec = Recorder(ok({"lock": LOCK}))
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with TRACER.start_as_current_span("caller"):
        rec.client().locks.get("jobs", extra_headers={"traceparent": mine})
    assert rec.requests[0].headers["traceparent"] == mine


def test_without_opentelemetry_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracecontext, "_INJECT", None)
    rec = Recorder(ok({"lock": LOCK}))
    with TRACER.start_as_current_span("caller"):
        rec.client().locks.get("jobs")
    assert "traceparent" not in rec.requests[0].headers
