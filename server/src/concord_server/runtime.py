"""Assembles a running server: storage, domains, security, dispatcher, REST app and gRPC.

Storage opens in start-up steps (preparation.py) that outlive engines being down: until every
step has succeeded the dispatcher answers only the health probes."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import grpc

from concord_server.api.auth_limit import FailedAuthLimit
from concord_server.api.dispatch import Dispatcher, Guard
from concord_server.api.faults import FaultInjector
from concord_server.api.handlers import cache, discovery, events, locks, sagas
from concord_server.api.handlers.health import HealthHandlers
from concord_server.api.security import wire_security
from concord_server.backends.connections import Connections
from concord_server.backends.memory.ratelimit import policy_of
from concord_server.backends.registry import open_backend, scheme_of
from concord_server.clock import Clock, SystemClock
from concord_server.component import Component, Wired
from concord_server.config import Settings
from concord_server.context import Principal
from concord_server.domain.ratelimit import enforce
from concord_server.drain import Drain
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.idempotency import IdempotencyStore
from concord_server.preparation import Preparation, Step
from concord_server.telemetry.samplers import SamplerLoop, component_health

if TYPE_CHECKING:
    from concord_server.api.grpc.server import ReadinessReporter

log = logging.getLogger("concord.runtime")

WireFn = Callable[[Settings, Connections, Clock], Awaitable[Wired]]
# (step name, settings field of its storage URL, wiring)
DOMAIN_WIRES: tuple[tuple[str, str, WireFn], ...] = (
    ("locks", "locks_url", locks.wire),
    ("events", "events_url", events.wire),
    ("sagas", "sagas_url", sagas.wire),
    ("cache", "cache_url", cache.wire),
    ("discovery", "discovery_url", discovery.wire),
)


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
class Opened:
    """What the start-up steps opened, gathered until every step has succeeded."""

    handlers: list[object] = field(default_factory=list)
    guard: Guard | None = None
    rate_check: Callable[[str], Awaitable[None]] | None = None
    idempotency: IdempotencyStore | None = None
    auth_limit: FailedAuthLimit | None = None
    samplers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


class _NoCaller:
    """The guard of a dispatcher that holds every call until start-up completes."""

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """Never reached: the dispatcher refuses non-public calls while held."""
        raise ConcordError(ErrorCode.UNAVAILABLE, "the server is starting; retry later")

    async def authorize(self, principal: Principal, action: str, resource: str) -> None:
        """Never reached, as above."""
        raise ConcordError(ErrorCode.UNAVAILABLE, "the server is starting; retry later")


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
    preparation: Preparation | None = None
    sampler: SamplerLoop | None = None
    _opened: Opened = field(default_factory=Opened)
    _health: HealthHandlers | None = None
    _reporter: ReadinessReporter | None = None
    drain: Drain = field(default_factory=Drain)
    _grpc_stop: asyncio.Future[None] | None = None
    on_serving: Callable[[], None] | None = None  # called once every start-up step succeeded

    async def start(self) -> Dispatcher:
        """Builds the dispatcher (health probes only, every other call held) and starts opening
        storage; the dispatcher serves everything once every engine has answered. Raises when a
        step fails for another reason than an engine outage (a bad URL, say)."""
        self._health = HealthHandlers(self.components, self.drain)
        self.dispatcher = Dispatcher([self._health], _NoCaller(), drain=self.drain)
        self.preparation = Preparation(self._steps(), self._serve, self.components)
        self.dispatcher.hold(self.preparation.not_ready)
        await self.preparation.start()
        return self.dispatcher

    def _steps(self) -> list[Step]:
        """One step per storage the server opens, named as readiness reports them."""
        settings = self.settings
        steps = [
            Step(name, scheme_of(getattr(settings, url)), functools.partial(self._wire, wire))
            for name, url, wire in DOMAIN_WIRES
        ]
        steps += [
            Step("rbac", scheme_of(settings.rbac_url), self._security),
            Step("ratelimit", scheme_of(settings.ratelimit_url), self._rate_check),
            Step("idempotency", scheme_of(settings.idempotency_url), self._idempotency),
        ]
        if settings.auth_failure_rate_per_second > 0:
            steps.append(Step("auth-limit", scheme_of(settings.ratelimit_url), self._auth_limit))
        return steps

    async def _wire(self, wire: WireFn) -> list[Component]:
        wired = await wire(self.settings, self.connections, self.clock)
        self._opened.handlers += wired.handlers
        self._opened.samplers += wired.samplers
        return wired.components

    async def _security(self) -> list[Component]:
        guard, wired = await wire_security(self.settings, self.connections, self.clock)
        self._opened.guard = guard
        self._opened.handlers += wired.handlers
        self._opened.samplers += wired.samplers
        return wired.components

    async def _serve(self) -> None:
        """Every step succeeded (readiness probes what they opened): the dispatcher serves every
        RPC, components start their background work."""
        opened, dispatcher = self._opened, self.dispatcher
        assert dispatcher is not None and opened.guard is not None and self._health is not None
        dispatcher.install(
            [*opened.handlers, self._health],
            opened.guard,
            opened.rate_check,
            self._faults(),
            opened.idempotency,
            opened.auth_limit,
        )
        missing = dispatcher.missing()
        if missing:
            raise RuntimeError(f"RPCs without a handler: {missing}")
        for component in self.components:
            await component.start()
        dispatcher.hold(None)
        if self._reporter is not None:
            self._reporter.poke()
        self._opened.samplers.append(component_health(self.components))
        self.sampler = SamplerLoop(self._opened.samplers, self.settings.metrics_sample_interval)
        self.sampler.start()
        if self.on_serving is not None:
            self.on_serving()

    async def _rate_check(self) -> list[Component]:
        limiter = await open_backend(
            "ratelimit", self.settings.ratelimit_url, self.settings, self.connections
        )
        if policy_of(self.settings) is None:
            return []  # limiting is off: no check on any call (the URL was still opened)

        async def check(key: str) -> None:
            await enforce(limiter, key)

        self._opened.rate_check = check
        return []

    async def _auth_limit(self) -> list[Component]:
        """The failed-authentication limit per address, on the rate-limit storage."""
        own = self.settings.model_copy(
            update={
                "rate_limit_per_second": self.settings.auth_failure_rate_per_second,
                "rate_limit_burst": self.settings.auth_failure_burst,
            }
        )
        limiter = await open_backend("ratelimit", own.ratelimit_url, own, self.connections)
        self._opened.auth_limit = FailedAuthLimit(limiter, own.rate_limit_per_second)
        return []

    async def _idempotency(self) -> list[Component]:
        """Opens the store of replayed answers; readiness checks it like any storage."""
        url = self.settings.idempotency_url
        store: IdempotencyStore = await open_backend(
            "idempotency", url, self.settings, self.connections
        )
        self._opened.idempotency = store
        return [StoreProbe("idempotency", scheme_of(url), store)]

    def _faults(self) -> FaultInjector | None:
        if not self.settings.test_hooks:
            return None
        log.warning("test hooks are ON (CONCORD_TEST_HOOKS): never use this in production")
        return FaultInjector()

    async def start_grpc(self) -> int:
        """Starts the gRPC server on the configured port; returns the bound port. Its standard
        health service follows readiness (NOT_SERVING until every engine answers)."""
        from concord_server.api.grpc.server import ReadinessReporter, build_grpc_server
        from concord_server.tls import grpc_credentials

        assert self.dispatcher is not None and self._health is not None
        address = f"{self.settings.http_host}:{self.settings.grpc_port}"
        credentials = grpc_credentials(self.settings)
        self.grpc_server, self.grpc_port = build_grpc_server(self.dispatcher, address, credentials)
        await self.grpc_server.start()
        self._reporter = ReadinessReporter(self.grpc_server, self._health.ready)
        await self._reporter.start()
        return self.grpc_port

    async def drain_streams(self, within: float) -> bool:
        """Begins the drain: readiness fails and open streams end; returns once they have
        (at most `within` seconds), saying whether all did."""
        log.info("shutting down: ending open streams, then draining calls in flight")
        self.drain.start()
        if self._reporter is not None:
            self._reporter.poke()
        return await self.drain.streams_ended(within)

    async def stop_grpc(self, grace: float) -> None:
        """gRPC refuses new calls and lets the ones in flight finish within `grace` seconds."""
        if self.grpc_server is not None and self._grpc_stop is None:
            self._grpc_stop = asyncio.ensure_future(self.grpc_server.stop(grace=grace))
        if self._grpc_stop is not None:
            await self._grpc_stop

    async def stop(self) -> None:
        """Stops start-up, gRPC (with a grace period, or after the drain's), every component,
        then the connections."""
        if self.preparation is not None:
            await self.preparation.stop()
        if self._reporter is not None:
            await self._reporter.stop()
        if self._grpc_stop is not None:
            await self._grpc_stop
        elif self.grpc_server is not None:
            await self.grpc_server.stop(grace=2.0)
        if self.sampler is not None:
            await self.sampler.stop()
        for component in reversed(self.components):
            try:
                await component.stop()
            except Exception:
                log.exception("stopping %s failed", component.name)
        await self.connections.close()
