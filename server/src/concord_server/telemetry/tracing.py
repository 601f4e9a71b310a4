"""OpenTelemetry tracing: a tracer exporting over OTLP when an endpoint is configured, and none
at all otherwise (every helper then returns at its first line, so tracing off costs nothing)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from concord_server.catalogue import rule_of
from concord_server.errors import ConcordError, ErrorCode

log = logging.getLogger("concord.tracing")
SERVICE_NAME = "concord"
INSTRUMENTATION = "concord_server"
PROPAGATOR = TraceContextTextMapPropagator()
STANDARD_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


class _State:
    """The tracer in use (None: tracing is off) and its provider."""

    tracer: Tracer | None = None
    provider: TracerProvider | None = None


def server_version() -> str:
    """The installed concord-server version (the spans' `service.version`)."""
    try:
        return metadata.version("concord-server")
    except metadata.PackageNotFoundError:
        return "unknown"


def tracer() -> Tracer | None:
    """The tracer, or None when tracing is off."""
    return _State.tracer


def otlp_endpoint(configured: str) -> str:
    """The OTLP/HTTP base URL: CONCORD_OTLP_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT, else ""."""
    return (configured or os.environ.get(STANDARD_ENDPOINT, "")).strip().rstrip("/")


def setup_tracing(configured_endpoint: str, version: str) -> TracerProvider | None:
    """Exports spans in batches over OTLP/HTTP when an endpoint is set; does nothing otherwise."""
    endpoint = otlp_endpoint(configured_endpoint)
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=_resource(version))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    use_provider(provider)
    log.info("tracing on: spans go to %s over OTLP/HTTP", endpoint)
    return provider


def _resource(version: str) -> Resource:
    """service.name `concord` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name one."""
    resource = Resource.create({"service.version": version})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    return resource


def use_provider(provider: TracerProvider | None) -> None:
    """Traces through `provider` from now on (None turns tracing off)."""
    _State.provider = provider
    _State.tracer = provider.get_tracer(INSTRUMENTATION) if provider is not None else None


def shutdown_tracing() -> None:
    """Flushes and stops the exporter; tracing is off afterwards."""
    provider = _State.provider
    use_provider(None)
    if provider is not None:
        provider.shutdown()


def start_server_span(name: str, headers: Mapping[str, str]) -> Span | None:
    """A span for one incoming request: a child of the current span when there is one (a
    GraphQL field inside its HTTP request), else a server span continuing `traceparent`."""
    t = _State.tracer
    if t is None:
        return None
    if trace.get_current_span().is_recording():
        return t.start_span(name, kind=SpanKind.INTERNAL)
    parent = PROPAGATOR.extract(headers)
    return t.start_span(name, context=parent, kind=SpanKind.SERVER)


def storage_span(engine: str, capability: str, operation: str) -> Span | None:
    """A client span for one storage call, only inside a traced request or saga step (the
    background sweeps and polls make no root spans of their own)."""
    t = _State.tracer
    if t is None or not trace.get_current_span().is_recording():
        return None
    attributes = {
        "db.system.name": engine,
        "db.operation.name": operation,
        "concord.storage.capability": capability,
    }
    return t.start_span(
        f"{engine} {capability}.{operation}", kind=SpanKind.CLIENT, attributes=attributes
    )


def record_failure(span: Span | None, err: ConcordError) -> None:
    """Marks a span failed when the error is the server's or an engine's (5xx), not the caller's."""
    if span is None:
        return
    span.set_attribute("concord.code", err.code.value)
    if rule_of(err.code).http_status >= 500:
        span.set_status(Status(StatusCode.ERROR, err.message))


def mark_failed(span: Span, description: str) -> None:
    """Marks a span failed."""
    span.set_status(Status(StatusCode.ERROR, description))


def record_code(span: Span, code: str) -> None:
    """Sets the outcome of an RPC span: OK or a catalogue code (5xx ones mark it failed)."""
    span.set_attribute("concord.code", code)
    failed = code in ErrorCode.__members__ and rule_of(ErrorCode(code)).http_status >= 500
    if failed:
        span.set_status(Status(StatusCode.ERROR, code))


def activate(span: Span) -> object:
    """Makes `span` current in this task; returns the token `deactivate` takes."""
    return otel_context.attach(trace.set_span_in_context(span))


def deactivate(token: object) -> None:
    """Restores the context that `activate` replaced."""
    otel_context.detach(token)  # type: ignore[arg-type]


def ids_of(span: Span) -> tuple[str, str, str]:
    """(trace id, span id, flags) of a span as W3C hex strings."""
    sc = span.get_span_context()
    return f"{sc.trace_id:032x}", f"{sc.span_id:016x}", f"{int(sc.trace_flags):02x}"


def traceparent_of(span: Span) -> str:
    """The W3C `traceparent` naming `span`."""
    trace_id, span_id, flags = ids_of(span)
    return f"00-{trace_id}-{span_id}-{flags}"


def inject_current(headers: dict[str, Any]) -> None:
    """Adds the current span's `traceparent` (and `tracestate`) to outgoing headers."""
    PROPAGATOR.inject(headers)
