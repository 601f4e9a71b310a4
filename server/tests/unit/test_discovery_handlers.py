"""DiscoveryService handlers called with real contract messages."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from google.protobuf import duration_pb2

from concord_server._gen.concord.v1 import discovery_pb2 as pb
from concord_server.api import convert
from concord_server.api.handlers.discovery import DiscoveryHandlers, wire
from concord_server.backends.connections import Connections
from concord_server.backends.memory.discovery import MemoryRegistry
from concord_server.clock import ManualClock
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.domain.discovery import DiscoveryService
from concord_server.errors import ConcordError, ErrorCode

CTX = CallContext(request_id="t")


@pytest.fixture
def clock() -> ManualClock:
    """A clock the tests move by hand."""
    return ManualClock()


@pytest.fixture
def handlers(clock: ManualClock) -> DiscoveryHandlers:
    """Handlers over a memory registry."""
    return DiscoveryHandlers(DiscoveryService(MemoryRegistry(), clock))


def register(instance_id: str, service: str = "api", **extra: object) -> pb.RegisterInstanceRequest:
    """A RegisterInstanceRequest."""
    return pb.RegisterInstanceRequest(
        service=service,
        instance_id=instance_id,
        address="10.0.0.1",
        port=80,
        **extra,  # type: ignore[arg-type]
    )


async def test_register_returns_the_full_instance(
    handlers: DiscoveryHandlers, clock: ManualClock
) -> None:
    request = register("a", tags=["zone-a"], metadata={"version": "1.2"})
    instance = (await handlers.RegisterInstance(request, CTX)).instance
    assert (instance.service, instance.instance_id, instance.address, instance.port) == (
        "api",
        "a",
        "10.0.0.1",
        80,
    )
    assert list(instance.tags) == ["zone-a"] and dict(instance.metadata) == {"version": "1.2"}
    assert instance.status == pb.INSTANCE_STATUS_HEALTHY
    assert convert.to_timedelta(instance.ttl) == timedelta(seconds=30)
    assert convert.to_datetime(instance.registered_at) == clock.now()
    assert convert.to_datetime(instance.expires_at) == clock.now() + timedelta(seconds=30)


async def test_heartbeat_keeps_status_unless_given(
    handlers: DiscoveryHandlers, clock: ManualClock
) -> None:
    request = register(
        "a", ttl=duration_pb2.Duration(seconds=10), status=pb.INSTANCE_STATUS_UNHEALTHY
    )
    await handlers.RegisterInstance(request, CTX)
    clock.advance(5)
    beat = await handlers.Heartbeat(pb.HeartbeatRequest(service="api", instance_id="a"), CTX)
    assert beat.instance.status == pb.INSTANCE_STATUS_UNHEALTHY
    assert convert.to_datetime(beat.instance.expires_at) == clock.now() + timedelta(seconds=10)
    healthy = pb.HeartbeatRequest(service="api", instance_id="a", status=pb.INSTANCE_STATUS_HEALTHY)
    assert (await handlers.Heartbeat(healthy, CTX)).instance.status == pb.INSTANCE_STATUS_HEALTHY
    clock.advance(11)
    with pytest.raises(ConcordError) as info:
        await handlers.Heartbeat(healthy, CTX)
    assert info.value.code == ErrorCode.NOT_FOUND


async def test_deregister(handlers: DiscoveryHandlers) -> None:
    await handlers.RegisterInstance(register("a"), CTX)
    request = pb.DeregisterInstanceRequest(service="api", instance_id="a")
    assert (await handlers.DeregisterInstance(request, CTX)).deregistered is True
    assert (await handlers.DeregisterInstance(request, CTX)).deregistered is False


async def test_list_instances_pages_and_filters(handlers: DiscoveryHandlers) -> None:
    for instance_id in ["c", "a", "b"]:
        await handlers.RegisterInstance(register(instance_id, tags=["t"]), CTX)
    await handlers.RegisterInstance(register("d", status=pb.INSTANCE_STATUS_UNHEALTHY), CTX)
    first = await handlers.ListInstances(pb.ListInstancesRequest(service="api", page_size=2), CTX)
    assert [i.instance_id for i in first.instances] == ["a", "b"]
    second = await handlers.ListInstances(
        pb.ListInstancesRequest(service="api", page_size=2, page_token=first.next_page_token), CTX
    )
    assert [i.instance_id for i in second.instances] == ["c"]
    assert second.next_page_token == ""
    everything = pb.ListInstancesRequest(service="api", include_unhealthy=True)
    assert len((await handlers.ListInstances(everything, CTX)).instances) == 4
    tagged = pb.ListInstancesRequest(service="api", include_unhealthy=True, tags=["t"])
    assert len((await handlers.ListInstances(tagged, CTX)).instances) == 3


async def test_list_services_counts(handlers: DiscoveryHandlers) -> None:
    await handlers.RegisterInstance(register("a", service="web"), CTX)
    await handlers.RegisterInstance(
        register("b", service="web", status=pb.INSTANCE_STATUS_UNHEALTHY), CTX
    )
    await handlers.RegisterInstance(register("a", service="api"), CTX)
    response = await handlers.ListServices(pb.ListServicesRequest(), CTX)
    assert [(s.name, s.instance_count, s.healthy_count) for s in response.services] == [
        ("api", 1, 1),
        ("web", 2, 1),
    ]


async def test_watch_service_streams_snapshot_then_changes(
    handlers: DiscoveryHandlers, clock: ManualClock
) -> None:
    await handlers.RegisterInstance(register("a"), CTX)
    stream = await handlers.WatchService(pb.WatchServiceRequest(service="api"), CTX)
    first = await asyncio.wait_for(anext(stream), 1)
    assert first.type == pb.INSTANCE_EVENT_TYPE_REGISTERED and first.instance.instance_id == "a"
    clock.advance(1)
    await handlers.DeregisterInstance(
        pb.DeregisterInstanceRequest(service="api", instance_id="a"), CTX
    )
    gone = await asyncio.wait_for(anext(stream), 1)
    await stream.aclose()
    assert gone.type == pb.INSTANCE_EVENT_TYPE_DEREGISTERED
    assert convert.to_datetime(gone.occurred_at) == clock.now()


async def test_wire_builds_handlers_and_sweeper(
    settings: Settings, connections: Connections, clock: ManualClock
) -> None:
    wired = await wire(
        settings.model_copy(update={"discovery_url": "memory://"}), connections, clock
    )
    [handler] = wired.handlers
    [component] = wired.components
    assert isinstance(handler, DiscoveryHandlers)
    assert handler.SERVICE == "concord.v1.DiscoveryService"
    assert (component.name, component.backend) == ("discovery", "memory")
    await component.start()
    await component.check()
    await component.stop()
