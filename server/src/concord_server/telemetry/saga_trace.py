"""Saga steps in the trace of the call that started the saga: a span per HTTP step attempt
(child of that call's span, however much later and on whichever instance it runs), and the
`traceparent` the step's HTTP request carries."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind

from concord_server.ports.sagas import SagaRecord
from concord_server.telemetry import tracing
from concord_server.tracing import HEADER, parse_traceparent

# With tracing off, the saga's stored `traceparent` for the step running in this task.
_STEP_PARENT: ContextVar[str] = ContextVar("concord_saga_step_parent", default="")


@contextmanager
def step_span(saga: SagaRecord) -> Iterator[None]:
    """Runs one HTTP step attempt of `saga` (its outstanding attempt) inside the step's span."""
    t = tracing.tracer()
    if t is None:
        reset = _STEP_PARENT.set(saga.trace_parent)
        try:
            yield
        finally:
            _STEP_PARENT.reset(reset)
        return
    carrier = {HEADER: saga.trace_parent} if saga.trace_parent else {}
    parent = tracing.PROPAGATOR.extract(carrier, context=otel_context.Context())
    attempt = saga.attempt
    step = saga.definition.steps[attempt.step_index].name if attempt is not None else ""
    attributes: dict[str, str | int] = {"concord.saga.id": saga.saga_id}
    attributes["concord.saga.name"] = saga.definition.name
    attributes["concord.saga.step"] = step
    if attempt is not None:
        attributes["concord.saga.phase"] = attempt.phase.value
        attributes["concord.saga.attempt"] = attempt.number
    span = t.start_span(f"saga step {step}", context=parent, attributes=attributes)
    token = tracing.activate(span)
    try:
        yield
    finally:
        tracing.deactivate(token)
        span.end()


def http_call_span(method: str, url: str, headers: dict[str, str]) -> Span | None:
    """The client span of a step's HTTP request (tracing on), whose `traceparent` goes into
    `headers`; with tracing off, `headers` get the saga's trace with a fresh span id."""
    t = tracing.tracer()
    if t is None:
        parsed = parse_traceparent(_STEP_PARENT.get())
        if parsed is not None and HEADER not in headers:
            trace_id, flags = parsed
            headers[HEADER] = f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"
        return None
    attributes = {"http.request.method": method, "url.full": url.split("?", 1)[0]}
    span = t.start_span(f"{method}", kind=SpanKind.CLIENT, attributes=attributes)
    if HEADER not in headers:
        token = tracing.activate(span)
        try:
            tracing.inject_current(headers)
        finally:
            tracing.deactivate(token)
    return span


def end_call_span(span: Span, status: int, ok: bool, message: str) -> None:
    """Records the answer's status (failed when the step failed) and ends the client span."""
    if status:
        span.set_attribute("http.response.status_code", status)
    if not ok:
        tracing.mark_failed(span, message)
    span.end()
