"""Which store implements which capability for which URL scheme; imported lazily."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import urlsplit

from concord_server.backends.connections import Connections
from concord_server.config import Settings
from concord_server.errors import ConcordError, ErrorCode
from concord_server.telemetry.storage import instrument

# (capability, scheme) -> "module:factory". A factory is
# `async def open_x(url: str, settings: Settings, connections: Connections) -> <Port>`.
BACKENDS: dict[tuple[str, str], str] = {
    ("locks", "memory"): "concord_server.backends.memory.locks:open_lock_store",
    ("locks", "sqlite"): "concord_server.backends.sqlite.locks:open_lock_store",
    ("locks", "redis"): "concord_server.backends.redis.locks:open_lock_store",
    ("locks", "postgresql"): "concord_server.backends.postgres.locks:open_lock_store",
    ("events", "memory"): "concord_server.backends.memory.events:open_event_log",
    ("events", "sqlite"): "concord_server.backends.sqlite.events:open_event_log",
    ("events", "postgresql"): "concord_server.backends.postgres.events:open_event_log",
    ("sagas", "memory"): "concord_server.backends.memory.sagas:open_saga_store",
    ("sagas", "sqlite"): "concord_server.backends.sqlite.sagas:open_saga_store",
    ("sagas", "postgresql"): "concord_server.backends.postgres.sagas:open_saga_store",
    ("cache", "memory"): "concord_server.backends.memory.cache:open_cache_store",
    ("cache", "redis"): "concord_server.backends.redis.cache:open_cache_store",
    ("discovery", "memory"): "concord_server.backends.memory.discovery:open_registry",
    ("discovery", "etcd"): "concord_server.backends.etcd.discovery:open_registry",
    ("rbac", "memory"): "concord_server.backends.memory.rbac:open_policy_store",
    ("rbac", "sqlite"): "concord_server.backends.sqlite.rbac:open_policy_store",
    ("rbac", "postgresql"): "concord_server.backends.postgres.rbac:open_policy_store",
    ("ratelimit", "memory"): "concord_server.backends.memory.ratelimit:open_rate_limiter",
    ("ratelimit", "redis"): "concord_server.backends.redis.ratelimit:open_rate_limiter",
    ("idempotency", "memory"): "concord_server.backends.memory.idempotency:open_idempotency_store",
    ("idempotency", "redis"): "concord_server.backends.redis.idempotency:open_idempotency_store",
    (
        "idempotency",
        "postgresql",
    ): "concord_server.backends.postgres.idempotency:open_idempotency_store",
}

Factory = Callable[[str, Settings, Connections], Awaitable[Any]]


def scheme_of(url: str) -> str:
    """The URL scheme, with `postgres` and `postgresql+asyncpg` read as `postgresql`."""
    scheme = urlsplit(url).scheme.split("+")[0]
    return "postgresql" if scheme == "postgres" else scheme


def supported_schemes(capability: str) -> list[str]:
    """The schemes that implement a capability."""
    return sorted(s for (c, s) in BACKENDS if c == capability)


async def open_backend(
    capability: str, url: str, settings: Settings, connections: Connections
) -> Any:
    """Opens the store for a capability from its URL (timed and traced at this seam), or fails
    with a clear message."""
    target = BACKENDS.get((capability, scheme_of(url)))
    if target is None:
        raise ConcordError(
            ErrorCode.INVALID_ARGUMENT,
            f"no {capability} backend for {url!r}; use one of {supported_schemes(capability)}",
        )
    module_name, _, attr = target.partition(":")
    factory = cast(Factory, getattr(importlib.import_module(module_name), attr))
    return instrument(await factory(url, settings, connections), capability, scheme_of(url))
