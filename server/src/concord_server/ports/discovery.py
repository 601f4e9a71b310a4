"""The discovery port: service instances with TTLs, health, and a change feed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from concord_server.pubsub import Subscription


class InstanceStatus(StrEnum):
    """The health an instance reports."""

    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"


@dataclass(frozen=True)
class Instance:
    """A registered instance of a service."""

    service: str
    instance_id: str
    address: str
    port: int
    tags: tuple[str, ...]
    metadata: Mapping[str, str]
    status: InstanceStatus
    ttl: timedelta
    registered_at: datetime
    last_heartbeat_at: datetime
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        """True until its expiry time has been reached."""
        return now < self.expires_at

    def renewed(self, now: datetime, status: InstanceStatus | None) -> Instance:
        """The instance after a heartbeat at `now` (status kept when None)."""
        return Instance(
            self.service,
            self.instance_id,
            self.address,
            self.port,
            self.tags,
            self.metadata,
            status or self.status,
            self.ttl,
            self.registered_at,
            now,
            now + self.ttl,
        )


class InstanceEventType(StrEnum):
    """What happened to an instance."""

    REGISTERED = "REGISTERED"
    UPDATED = "UPDATED"
    DEREGISTERED = "DEREGISTERED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class InstanceEvent:
    """One change to one instance; `revision` orders it on engines that number changes (else 0)."""

    type: InstanceEventType
    instance: Instance
    occurred_at: datetime
    revision: int = 0


@dataclass(frozen=True)
class ServiceSummary:
    """A service with live instances."""

    name: str
    instance_count: int
    healthy_count: int


@dataclass
class ServiceWatch:
    """The start of a watch: live instances, then the changes after them.

    Changes whose revision is positive and at most `after_revision` are already reflected in
    `snapshot` and must be skipped.
    """

    snapshot: list[Instance]
    changes: Subscription[InstanceEvent]
    after_revision: int = 0


def change_type(old: Instance | None, new: Instance) -> InstanceEventType | None:
    """REGISTERED for a new instance, UPDATED for a real change, None for a plain heartbeat."""
    if old is None:
        return InstanceEventType.REGISTERED
    if old.renewed(new.last_heartbeat_at, None) == new:
        return None
    return InstanceEventType.UPDATED


class Registry(Protocol):
    """Storage of service instances. `now` is the domain clock's time."""

    async def register(self, instance: Instance, now: datetime) -> Instance:
        """Stores the instance, replacing any registration of the same id."""
        ...

    async def heartbeat(
        self, service: str, instance_id: str, status: InstanceStatus | None, now: datetime
    ) -> Instance | None:
        """Renews a live instance's TTL (and status when given); None when it is not live."""
        ...

    async def deregister(self, service: str, instance_id: str, now: datetime) -> bool:
        """Removes a live instance; False when there was none."""
        ...

    async def instances(self, service: str, now: datetime) -> list[Instance]:
        """The live instances of a service, in id order."""
        ...

    async def services(self, now: datetime) -> list[ServiceSummary]:
        """The services with live instances, in name order."""
        ...

    async def watch(self, service: str, now: datetime, limit: int) -> ServiceWatch:
        """The live instances of a service and a bounded subscription to its later changes."""
        ...

    async def sweep_expired(self, now: datetime) -> int:
        """Removes instances whose TTL ran out where the engine does not; returns how many."""
        ...

    async def ping(self) -> None:
        """Raises when the storage does not answer."""
        ...

    async def close(self) -> None:
        """Releases connections and background watchers."""
        ...
