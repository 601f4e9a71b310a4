"""Discovery rules: registration defaults, heartbeats, filtered and paginated listings, watches."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

from concord_server import page_tokens
from concord_server.clock import Clock
from concord_server.errors import not_found
from concord_server.periodic import Periodic
from concord_server.ports.discovery import (
    Instance,
    InstanceEvent,
    InstanceEventType,
    InstanceStatus,
    Registry,
    ServiceSummary,
)

log = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(seconds=30)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class Registration:
    """What an instance asks to be registered as."""

    service: str
    instance_id: str
    address: str
    port: int
    tags: Sequence[str] = ()
    metadata: Mapping[str, str] | None = None
    ttl: timedelta | None = None
    status: InstanceStatus | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the token of the next (empty on the last page)."""

    items: list[T]
    next_page_token: str


def encode_token(kind: str, after: str) -> str:
    """An opaque page token resuming after `after`."""
    return page_tokens.seal(f"discovery|{kind}", {"a": after})


def decode_token(kind: str, token: str) -> str:
    """The position a page token resumes after ("" for the first page)."""
    if not token:
        return ""
    return str(page_tokens.member(page_tokens.unseal(f"discovery|{kind}", token), "a", str))


def paginate(items: list[T], key: str, kind: str, page_size: int, token: str) -> Page[T]:
    """The page of `items` (sorted by attribute `key`) after the token's position."""
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    after = decode_token(kind, token)
    rest = [item for item in items if str(getattr(item, key)) > after] if after else items
    page = rest[:size]
    more = len(rest) > size
    return Page(page, encode_token(kind, str(getattr(page[-1], key))) if more else "")


class DiscoveryService:
    """The registry's business rules over a Registry port."""

    def __init__(self, registry: Registry, clock: Clock, watch_queue_limit: int = 1000) -> None:
        self._registry = registry
        self._clock = clock
        self._watch_queue_limit = watch_queue_limit

    async def register(self, registration: Registration) -> Instance:
        """Registers (or replaces) an instance; TTL defaults to 30 s, status to HEALTHY."""
        now = self._clock.now()
        ttl = registration.ttl or DEFAULT_TTL
        instance = Instance(
            service=registration.service,
            instance_id=registration.instance_id,
            address=registration.address,
            port=registration.port,
            tags=tuple(dict.fromkeys(registration.tags)),
            metadata=dict(registration.metadata or {}),
            status=registration.status or InstanceStatus.HEALTHY,
            ttl=ttl,
            registered_at=now,
            last_heartbeat_at=now,
            expires_at=now + ttl,
        )
        return await self._registry.register(instance, now)

    async def heartbeat(
        self, service: str, instance_id: str, status: InstanceStatus | None = None
    ) -> Instance:
        """Renews an instance's TTL; NOT_FOUND once it expired or deregistered."""
        renewed = await self._registry.heartbeat(service, instance_id, status, self._clock.now())
        if renewed is None:
            raise not_found("instance", f"{service}/{instance_id}")
        return renewed

    async def deregister(self, service: str, instance_id: str) -> bool:
        """Removes an instance; False when it was not registered."""
        return await self._registry.deregister(service, instance_id, self._clock.now())

    async def list_instances(
        self,
        service: str,
        *,
        tags: Sequence[str] = (),
        include_unhealthy: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[Instance]:
        """Live instances in id order: healthy only unless asked, carrying every given tag."""
        wanted = set(tags)
        matching = [
            instance
            for instance in await self._registry.instances(service, self._clock.now())
            if (include_unhealthy or instance.status == InstanceStatus.HEALTHY)
            and wanted.issubset(instance.tags)
        ]
        matching.sort(key=lambda i: i.instance_id)
        kind = f"instances|{service}|{','.join(sorted(wanted))}|{include_unhealthy}"
        return paginate(matching, "instance_id", kind, page_size, page_token)

    async def list_services(
        self, *, page_size: int = 0, page_token: str = ""
    ) -> Page[ServiceSummary]:
        """Services with live instances, in name order, with instance and healthy counts."""
        services = sorted(await self._registry.services(self._clock.now()), key=lambda s: s.name)
        return paginate(services, "name", "services", page_size, page_token)

    async def watch(self, service: str) -> AsyncGenerator[InstanceEvent, None]:
        """The live instances as REGISTERED, then every change, until the caller stops."""
        now = self._clock.now()
        start = await self._registry.watch(service, now, self._watch_queue_limit)
        async with start.changes:
            for instance in start.snapshot:
                yield InstanceEvent(InstanceEventType.REGISTERED, instance, now)
            async for event in start.changes:
                if 0 < event.revision <= start.after_revision:
                    continue
                yield event

    async def sweep(self) -> int:
        """Expires instances whose TTL ran out; returns how many."""
        return await self._registry.sweep_expired(self._clock.now())


class DiscoverySweeper:
    """The discovery component: runs the expiry sweep in the background and checks storage."""

    name = "discovery"

    def __init__(
        self, service: DiscoveryService, registry: Registry, backend: str, interval: float
    ) -> None:
        self.backend = backend
        self._registry = registry
        self._sweeper = Periodic("discovery expiry sweep", interval, service.sweep)

    async def start(self) -> None:
        """Starts the periodic sweep."""
        self._sweeper.start()

    async def stop(self) -> None:
        """Stops the sweep and releases the registry's connections."""
        await self._sweeper.stop()
        await self._registry.close()

    async def check(self) -> None:
        """Raises when the registry does not answer."""
        await self._registry.ping()
