"""DiscoveryService handlers: map contract messages to the discovery domain and back."""

from __future__ import annotations

from concord_server._gen.concord.v1 import discovery_pb2
from concord_server.api import convert
from concord_server.backends import registry
from concord_server.backends.connections import Connections
from concord_server.clock import Clock
from concord_server.component import Wired
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.domain.discovery import DiscoveryService, DiscoverySweeper, Registration
from concord_server.ports.discovery import (
    Instance,
    InstanceEvent,
    InstanceEventType,
    InstanceStatus,
    Registry,
)
from concord_server.streams import OpenStream
from concord_server.telemetry.samplers import instances_by_health

SWEEP_INTERVAL_SECONDS = 1.0

_STATUS_IN = {
    discovery_pb2.INSTANCE_STATUS_HEALTHY: InstanceStatus.HEALTHY,
    discovery_pb2.INSTANCE_STATUS_UNHEALTHY: InstanceStatus.UNHEALTHY,
}
_STATUS_OUT = {status: number for number, status in _STATUS_IN.items()}
_EVENT_TYPES = {
    InstanceEventType.REGISTERED: discovery_pb2.INSTANCE_EVENT_TYPE_REGISTERED,
    InstanceEventType.UPDATED: discovery_pb2.INSTANCE_EVENT_TYPE_UPDATED,
    InstanceEventType.DEREGISTERED: discovery_pb2.INSTANCE_EVENT_TYPE_DEREGISTERED,
    InstanceEventType.EXPIRED: discovery_pb2.INSTANCE_EVENT_TYPE_EXPIRED,
}


def status_of(number: discovery_pb2.InstanceStatus) -> InstanceStatus | None:
    """The domain status of a contract status; None for UNSPECIFIED (= default / unchanged)."""
    return _STATUS_IN.get(number)


def instance_message(instance: Instance) -> discovery_pb2.ServiceInstance:
    """The contract message of an instance."""
    return discovery_pb2.ServiceInstance(
        service=instance.service,
        instance_id=instance.instance_id,
        address=instance.address,
        port=instance.port,
        tags=list(instance.tags),
        metadata=dict(instance.metadata),
        status=_STATUS_OUT[instance.status],
        ttl=convert.duration(instance.ttl),
        registered_at=convert.timestamp(instance.registered_at),
        last_heartbeat_at=convert.timestamp(instance.last_heartbeat_at),
        expires_at=convert.timestamp(instance.expires_at),
    )


def event_message(event: InstanceEvent) -> discovery_pb2.WatchServiceResponse:
    """The contract message of an instance change."""
    return discovery_pb2.WatchServiceResponse(
        type=_EVENT_TYPES[event.type],
        instance=instance_message(event.instance),
        occurred_at=convert.timestamp(event.occurred_at),
    )


class DiscoveryHandlers:
    """The RPCs of concord.v1.DiscoveryService."""

    SERVICE = "concord.v1.DiscoveryService"

    def __init__(self, service: DiscoveryService) -> None:
        self._service = service

    async def RegisterInstance(
        self, request: discovery_pb2.RegisterInstanceRequest, ctx: CallContext
    ) -> discovery_pb2.RegisterInstanceResponse:
        """Registers or replaces an instance."""
        instance = await self._service.register(
            Registration(
                service=request.service,
                instance_id=request.instance_id,
                address=request.address,
                port=request.port,
                tags=list(request.tags),
                metadata=dict(request.metadata),
                ttl=convert.optional_timedelta(request, "ttl"),
                status=status_of(request.status),
            )
        )
        return discovery_pb2.RegisterInstanceResponse(instance=instance_message(instance))

    async def Heartbeat(
        self, request: discovery_pb2.HeartbeatRequest, ctx: CallContext
    ) -> discovery_pb2.HeartbeatResponse:
        """Renews an instance's TTL."""
        instance = await self._service.heartbeat(
            request.service, request.instance_id, status_of(request.status)
        )
        return discovery_pb2.HeartbeatResponse(instance=instance_message(instance))

    async def DeregisterInstance(
        self, request: discovery_pb2.DeregisterInstanceRequest, ctx: CallContext
    ) -> discovery_pb2.DeregisterInstanceResponse:
        """Removes an instance."""
        removed = await self._service.deregister(request.service, request.instance_id)
        return discovery_pb2.DeregisterInstanceResponse(deregistered=removed)

    async def ListInstances(
        self, request: discovery_pb2.ListInstancesRequest, ctx: CallContext
    ) -> discovery_pb2.ListInstancesResponse:
        """Lists a service's live instances."""
        page = await self._service.list_instances(
            request.service,
            tags=list(request.tags),
            include_unhealthy=request.include_unhealthy,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return discovery_pb2.ListInstancesResponse(
            instances=[instance_message(i) for i in page.items],
            next_page_token=page.next_page_token,
        )

    async def ListServices(
        self, request: discovery_pb2.ListServicesRequest, ctx: CallContext
    ) -> discovery_pb2.ListServicesResponse:
        """Lists the services with live instances."""
        page = await self._service.list_services(
            page_size=request.page_size, page_token=request.page_token
        )
        return discovery_pb2.ListServicesResponse(
            services=[
                discovery_pb2.ServiceSummary(
                    name=s.name, instance_count=s.instance_count, healthy_count=s.healthy_count
                )
                for s in page.items
            ],
            next_page_token=page.next_page_token,
        )

    async def WatchService(
        self, request: discovery_pb2.WatchServiceRequest, ctx: CallContext
    ) -> OpenStream[discovery_pb2.WatchServiceResponse]:
        """Streams the current instances, then changes, until the caller goes away."""
        return (await self._service.watch(request.service)).map(event_message)


async def wire(settings: Settings, connections: Connections, clock: Clock) -> Wired:
    """Opens the registry from `discovery_url` and builds the handlers and the sweeper."""
    url = settings.discovery_url
    store: Registry = await registry.open_backend("discovery", url, settings, connections)
    service = DiscoveryService(store, clock, watch_queue_limit=settings.ws_max_queue)
    sweeper = DiscoverySweeper(service, store, registry.scheme_of(url), SWEEP_INTERVAL_SECONDS)
    return Wired(
        handlers=[DiscoveryHandlers(service)],
        components=[sweeper],
        samplers=[instances_by_health(store, clock)],
    )
