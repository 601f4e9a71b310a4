"""The SDK clients the adapter makes from the protocol's `client_config`: `Concord` /
`AsyncConcord` over REST, or `GrpcConcord` / `AsyncGrpcConcord` (`concord.grpc`) to the
config's `grpc_target` once `use_grpc()` was called (the adapter's `--grpc` flag)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import concord

_MODE = {"grpc": False}


def use_grpc() -> None:
    """Make every later client a gRPC one (imports `concord.grpc`, which needs grpcio)."""
    import concord.grpc  # noqa: F401 (fails early when the gRPC extra is missing)

    _MODE["grpc"] = True


def client_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """`client_config` of the protocol as keyword arguments of the client classes."""
    options: dict[str, Any] = {
        "api_key": config.get("api_key") or None,
        "bearer_token": config.get("bearer_token") or None,
        "extra_headers": dict(config.get("headers") or {}),
    }
    if _MODE["grpc"]:
        if not config.get("grpc_target"):
            raise LookupError("client_config has no grpc_target")
        options["target"] = str(config["grpc_target"])
    else:
        options["base_url"] = config.get("base_url") or None
    if config.get("max_retries") is not None:
        options["max_retries"] = int(config["max_retries"])
    if config.get("timeout_ms"):
        options["timeout"] = float(config["timeout_ms"]) / 1000
    return options


def sync_client(config: Mapping[str, Any]) -> concord.Concord:
    """A sync client of `config`."""
    if _MODE["grpc"]:
        from concord.grpc import GrpcConcord

        return GrpcConcord(**client_options(config))
    return concord.Concord(**client_options(config))


def async_client(config: Mapping[str, Any]) -> concord.AsyncConcord:
    """An asyncio client of `config`."""
    if _MODE["grpc"]:
        from concord.grpc import AsyncGrpcConcord

        return AsyncGrpcConcord(**client_options(config))
    return concord.AsyncConcord(**client_options(config))
