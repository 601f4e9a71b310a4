"""Observability: Prometheus domain metrics, OpenTelemetry tracing, and the seams that feed them."""
