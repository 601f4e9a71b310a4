"""What every Redis store shares: the map of Redis failures onto the error catalogue."""

from __future__ import annotations

from contextlib import AbstractContextManager

from concord_server.backends.failures import storage_errors


def redis_errors(what: str) -> AbstractContextManager[None]:
    """Redis failures of the `what` storage on the catalogue: UNAVAILABLE when Redis cannot
    serve now (down, loading, connection lost, timed out), INTERNAL otherwise."""
    return storage_errors(what, "redis")
