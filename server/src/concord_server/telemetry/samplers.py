"""Gauges read from the stores now and then (locks held, sagas by state, stuck sagas, instances
by health, component health): what no single instance can count from its own calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from concord_server.clock import Clock
from concord_server.component import Component
from concord_server.ports.discovery import Registry
from concord_server.ports.locks import LockStore
from concord_server.ports.sagas import SagaState, SagaStore
from concord_server.telemetry import metrics

log = logging.getLogger(__name__)
Sampler = Callable[[], Awaitable[None]]
PAGE = 1000
MAX_PAGES = 100  # a gauge counts up to 100,000 items per sample
STUCK_AFTER = timedelta(minutes=1)
STUCK_LIMIT = 1000


def locks_held(store: LockStore) -> Sampler:
    """Counts the unexpired grants, a page at a time."""

    async def sample() -> None:
        count, after = 0, ""
        for _page in range(MAX_PAGES):
            page = await store.list("", after, PAGE)
            count += len(page)
            if len(page) < PAGE:
                break
            after = page[-1].name
        metrics.LOCKS_HELD.set(count)

    return sample


def sagas_by_state(store: SagaStore, clock: Clock) -> Sampler:
    """Counts running and compensating sagas, and the due ones no runner claimed for a minute."""

    async def sample() -> None:
        for state in (SagaState.RUNNING, SagaState.COMPENSATING):
            metrics.SAGAS.labels(state.value).set(await _count_sagas(store, state))
        stuck = await store.due(clock.now() - STUCK_AFTER, STUCK_LIMIT)
        metrics.SAGAS_STUCK.set(len(stuck))

    return sample


async def _count_sagas(store: SagaStore, state: SagaState) -> int:
    count, before = 0, None
    for _page in range(MAX_PAGES):
        page = await store.list_sagas(state=state, limit=PAGE, before_seq=before)
        count += len(page)
        if len(page) < PAGE:
            break
        before = page[-1].seq
    return count


def instances_by_health(registry: Registry, clock: Clock) -> Sampler:
    """Counts the live instances of every service, healthy and not."""

    async def sample() -> None:
        services = await registry.services(clock.now())
        healthy = sum(s.healthy_count for s in services)
        total = sum(s.instance_count for s in services)
        metrics.DISCOVERY_INSTANCES.labels("HEALTHY").set(healthy)
        metrics.DISCOVERY_INSTANCES.labels("UNHEALTHY").set(total - healthy)

    return sample


def component_health(components: Sequence[Component]) -> Sampler:
    """1 per component whose storage answers its check, 0 otherwise."""

    async def sample() -> None:
        for component in components:
            try:
                await component.check()
                up = 1
            except Exception:
                up = 0
            metrics.COMPONENT_UP.labels(component.name, component.backend).set(up)

    return sample


class SamplerLoop:
    """Runs every sampler at start and then every `interval` seconds (0: never), each on its
    own, so that one store being down leaves the other gauges current."""

    def __init__(self, samplers: Sequence[Sampler], interval: float) -> None:
        self._samplers = tuple(samplers)
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts the loop (once)."""
        if self._task is None and self._interval > 0:
            self._task = asyncio.create_task(self._run(), name="metrics sampler")

    async def stop(self) -> None:
        """Cancels the loop and waits until it has ended."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sample_once(self) -> None:
        """Runs every sampler once; a failing one is logged and skipped."""
        for sampler in self._samplers:
            try:
                await sampler()
            except Exception as exc:
                log.warning("metrics sample failed: %s", getattr(exc, "message", exc))

    async def _run(self) -> None:
        while True:
            await self.sample_once()
            await asyncio.sleep(self._interval)
