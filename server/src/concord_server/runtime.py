"""Assembles a running server: storage, domains, security, dispatcher, REST app and gRPC."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc

from concord_server.api.auth_limit import FailedAuthLimit
from concord_server.api.dispatch import Dispatcher
from concord_server.api.faults import FaultInjector
from concord_server.api.handlers import cache, discovery, events, locks, sagas
from concord_server.api.handlers.health import HealthHandlers
from concord_server.api.security import wire_security
from concord_server.backends.connections import Connections
from concord_server.backends.registry import open_backend, scheme_of
from concord_server.clock import Clock, SystemClock
from concord_server.component import Component, Wired
from concord_server.config import Settings
from concord_server.domain.ratelimit import enforce
from concord_server.ports.idempotency import IdempotencyStore
from concord_server.telemetry.samplers import SamplerLoop, component_health

log = logging.getLogger("concord.runtime")

WireFn = Callable[[Settings, Connections, Clock], Awaitable[Wired]]
DOMAIN_WIRES: tuple[WireFn, ...] = (locks.wire, events.wire, sagas.wire, cache.wire, discovery.wire)


@dataclass
class StoreProbe:
    """A component without background work whose readiness is its store's `ping`."""

    name: str
    backend: str
    store: IdempotencyStore

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def check(self) -> None:
        """Raises when the store does not answer."""
        await self.store.ping()


@dataclass
class Runtime:
    """Everything a running server owns, started and stopped as one."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    connections: Connections = field(default_factory=Connections)
    components: list[Component] = field(default_factory=list)
    dispatcher: Dispatcher | None = None
    grpc_server: grpc.aio.Server | None = None
    grpc_port: int = 0
    sampler: SamplerLoop | None = None

    async def start(self) -> Dispatcher:
        """Opens storage, wires every domain, builds the dispatcher and starts components."""
        handlers: list[object] = []
        samplers = []
        for wire in DOMAIN_WIRES:
            wired = await wire(self.settings, self.connections, self.clock)
            handlers += wired.handlers
            self.components += wired.components
            samplers += wired.samplers
        guard, security_wired = await wire_security(self.settings, self.connections, self.clock)
        handlers += security_wired.handlers
        self.components += security_wired.components
        handlers.append(HealthHandlers(self.components))
        self.dispatcher = Dispatcher(
            handlers,
            guard,
            await self._rate_check(),
            self._faults(),
            await self._idempotency(),
            await self._auth_limit(),
        )
        missing = self.dispatcher.missing()
        if missing:
            raise RuntimeError(f"RPCs without a handler: {missing}")
        for component in self.components:
            await component.start()
        samplers.append(component_health(self.components))
        self.sampler = SamplerLoop(samplers, self.settings.metrics_sample_interval)
        self.sampler.start()
        return self.dispatcher

    async def _rate_check(self) -> Callable[[str], Awaitable[None]]:
        limiter = await open_backend(
            "ratelimit", self.settings.ratelimit_url, self.settings, self.connections
        )

        async def check(key: str) -> None:
            await enforce(limiter, key)

        return check

    async def _auth_limit(self) -> FailedAuthLimit | None:
        """The failed-authentication limit per address, on the rate-limit storage."""
        rate = self.settings.auth_failure_rate_per_second
        if rate <= 0:
            return None
        own = self.settings.model_copy(
            update={
                "rate_limit_per_second": rate,
                "rate_limit_burst": self.settings.auth_failure_burst,
            }
        )
        limiter = await open_backend("ratelimit", own.ratelimit_url, own, self.connections)
        return FailedAuthLimit(limiter, rate)

    async def _idempotency(self) -> IdempotencyStore:
        """Opens the store of replayed answers; readiness checks it like any storage."""
        url = self.settings.idempotency_url
        store: IdempotencyStore = await open_backend(
            "idempotency", url, self.settings, self.connections
        )
        self.components.append(StoreProbe("idempotency", scheme_of(url), store))
        return store

    def _faults(self) -> FaultInjector | None:
        if not self.settings.test_hooks:
            return None
        log.warning("test hooks are ON (CONCORD_TEST_HOOKS): never use this in production")
        return FaultInjector()

    async def start_grpc(self) -> int:
        """Starts the gRPC server on the configured port; returns the bound port."""
        from concord_server.api.grpc.server import build_grpc_server, set_serving

        assert self.dispatcher is not None
        address = f"{self.settings.http_host}:{self.settings.grpc_port}"
        self.grpc_server, self.grpc_port = build_grpc_server(self.dispatcher, address)
        await self.grpc_server.start()
        await set_serving(self.grpc_server, True)
        return self.grpc_port

    async def stop(self) -> None:
        """Stops gRPC (with a grace period), every component, then the connections."""
        if self.grpc_server is not None:
            await self.grpc_server.stop(grace=2.0)
        if self.sampler is not None:
            await self.sampler.stop()
        for component in reversed(self.components):
            try:
                await component.stop()
            except Exception:
                log.exception("stopping %s failed", component.name)
        await self.connections.close()
