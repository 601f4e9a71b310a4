"""Trace context for outgoing calls: when `opentelemetry-api` is installed, the headers its
configured propagator writes for the current span (W3C `traceparent` by default), so the
server's spans join the caller's trace; nothing otherwise."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

Inject = Callable[[MutableMapping[str, str]], None]


def _load_inject() -> Inject | None:
    try:
        from opentelemetry import propagate
    except ImportError:
        return None
    inject: Inject = propagate.inject
    return inject


_INJECT = _load_inject()


def trace_headers() -> dict[str, str]:
    """The trace headers of the current OpenTelemetry context (empty without a span)."""
    carrier: dict[str, str] = {}
    if _INJECT is not None:
        _INJECT(carrier)
    return carrier
