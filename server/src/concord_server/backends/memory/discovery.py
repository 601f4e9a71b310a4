"""In-process discovery registry: dicts per service, lazy expiry plus the domain's sweep."""

from __future__ import annotations

from datetime import datetime

from concord_server.backends.connections import Connections
from concord_server.config import Settings
from concord_server.ports.discovery import (
    Instance,
    InstanceEvent,
    InstanceEventType,
    InstanceStatus,
    ServiceSummary,
    ServiceWatch,
    change_type,
)
from concord_server.pubsub import Broadcaster


class MemoryRegistry:
    """A single-process Registry; every operation runs without awaiting, so it is atomic."""

    def __init__(self) -> None:
        self._services: dict[str, dict[str, Instance]] = {}
        self._events: Broadcaster[InstanceEvent] = Broadcaster()

    def _publish(self, kind: InstanceEventType, instance: Instance, at: datetime) -> None:
        """Announces a change."""
        self._events.publish(InstanceEvent(kind, instance, at))

    def _drop(self, instance: Instance) -> None:
        """Forgets an instance, and its service once empty."""
        instances = self._services.get(instance.service, {})
        instances.pop(instance.instance_id, None)
        if not instances:
            self._services.pop(instance.service, None)

    def _live(self, service: str, instance_id: str, now: datetime) -> Instance | None:
        """The live instance, expiring it on the way if its TTL ran out."""
        instance = self._services.get(service, {}).get(instance_id)
        if instance is not None and not instance.is_live(now):
            self._drop(instance)
            self._publish(InstanceEventType.EXPIRED, instance, instance.expires_at)
            return None
        return instance

    def _store(self, old: Instance | None, new: Instance, now: datetime) -> Instance:
        """Saves an instance and announces the change, if any."""
        self._services.setdefault(new.service, {})[new.instance_id] = new
        kind = change_type(old, new)
        if kind is not None:
            self._publish(kind, new, now)
        return new

    async def register(self, instance: Instance, now: datetime) -> Instance:
        """Stores the instance, replacing any live registration of the same id."""
        old = self._live(instance.service, instance.instance_id, now)
        return self._store(old, instance, now)

    async def heartbeat(
        self, service: str, instance_id: str, status: InstanceStatus | None, now: datetime
    ) -> Instance | None:
        """Renews a live instance."""
        old = self._live(service, instance_id, now)
        if old is None:
            return None
        return self._store(old, old.renewed(now, status), now)

    async def deregister(self, service: str, instance_id: str, now: datetime) -> bool:
        """Removes a live instance."""
        old = self._live(service, instance_id, now)
        if old is None:
            return False
        self._drop(old)
        self._publish(InstanceEventType.DEREGISTERED, old, now)
        return True

    async def instances(self, service: str, now: datetime) -> list[Instance]:
        """The live instances of a service, in id order."""
        ids = sorted(self._services.get(service, {}))
        found = (self._live(service, instance_id, now) for instance_id in ids)
        return [instance for instance in found if instance is not None]

    async def services(self, now: datetime) -> list[ServiceSummary]:
        """The services with live instances, in name order."""
        await self.sweep_expired(now)
        return [
            ServiceSummary(
                name,
                len(instances),
                sum(1 for i in instances.values() if i.status == InstanceStatus.HEALTHY),
            )
            for name, instances in sorted(self._services.items())
        ]

    async def watch(self, service: str, now: datetime, limit: int) -> ServiceWatch:
        """The live instances and a subscription that starts right after them."""
        snapshot = await self.instances(service, now)
        changes = self._events.subscribe(lambda e: e.instance.service == service, limit)
        return ServiceWatch(snapshot, changes)

    async def sweep_expired(self, now: datetime) -> int:
        """Expires every instance whose TTL ran out."""
        dead = [
            instance
            for instances in self._services.values()
            for instance in instances.values()
            if not instance.is_live(now)
        ]
        for instance in dead:
            self._live(instance.service, instance.instance_id, now)
        return len(dead)

    async def ping(self) -> None:
        """Always answers."""

    async def close(self) -> None:
        """Nothing to release."""


async def open_registry(url: str, settings: Settings, connections: Connections) -> MemoryRegistry:
    """A fresh in-process registry (memory:// URLs share nothing between calls)."""
    return MemoryRegistry()
