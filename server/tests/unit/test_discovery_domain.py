"""Discovery domain rules on the memory registry with a manual clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from concord_server.backends.memory.discovery import MemoryRegistry
from concord_server.clock import ManualClock
from concord_server.domain.discovery import (
    DiscoveryService,
    DiscoverySweeper,
    Registration,
    decode_token,
    encode_token,
    paginate,
)
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.discovery import (
    Instance,
    InstanceEvent,
    InstanceEventType,
    InstanceStatus,
    ServiceSummary,
    ServiceWatch,
    change_type,
)
from concord_server.pubsub import Broadcaster, SlowConsumerError


@pytest.fixture
def clock() -> ManualClock:
    """A clock the tests move by hand."""
    return ManualClock()


@pytest.fixture
def registry() -> MemoryRegistry:
    """A fresh memory registry."""
    return MemoryRegistry()


@pytest.fixture
def discovery(registry: MemoryRegistry, clock: ManualClock) -> DiscoveryService:
    """The discovery domain over the memory registry."""
    return DiscoveryService(registry, clock, watch_queue_limit=3)


def reg(instance_id: str, **extra: object) -> Registration:
    """A registration in service `api`."""
    return Registration("api", instance_id, "host", 1, **extra)  # type: ignore[arg-type]


async def test_default_ttl_is_thirty_seconds(
    discovery: DiscoveryService, clock: ManualClock
) -> None:
    instance = await discovery.register(reg("a"))
    assert instance.expires_at == clock.now() + timedelta(seconds=30)
    clock.advance(29.999)
    assert (await discovery.heartbeat("api", "a")).expires_at == clock.now() + timedelta(seconds=30)


async def test_instance_expires_exactly_at_its_ttl(
    discovery: DiscoveryService, clock: ManualClock
) -> None:
    await discovery.register(reg("a", ttl=timedelta(seconds=5)))
    clock.advance(4.999)
    assert len((await discovery.list_instances("api")).items) == 1
    clock.advance(0.001)
    assert (await discovery.list_instances("api")).items == []
    with pytest.raises(ConcordError) as info:
        await discovery.heartbeat("api", "a")
    assert info.value.code == ErrorCode.NOT_FOUND


async def test_sweep_announces_expiry_at_the_deadline(
    discovery: DiscoveryService, clock: ManualClock
) -> None:
    instance = await discovery.register(reg("a", ttl=timedelta(seconds=5)))
    watch = await discovery.watch("api")
    assert (await anext(watch)).type == InstanceEventType.REGISTERED
    clock.advance(10)
    assert await discovery.sweep() == 1
    assert await discovery.sweep() == 0
    event = await anext(watch)
    await watch.aclose()
    assert (event.type, event.occurred_at) == (InstanceEventType.EXPIRED, instance.expires_at)


async def test_plain_heartbeats_are_not_announced(
    discovery: DiscoveryService, clock: ManualClock
) -> None:
    await discovery.register(reg("a"))
    watch = await discovery.watch("api")
    await anext(watch)
    clock.advance(1)
    await discovery.heartbeat("api", "a")
    await discovery.heartbeat("api", "a", InstanceStatus.HEALTHY)
    await discovery.heartbeat("api", "a", InstanceStatus.UNHEALTHY)
    event = await anext(watch)
    await watch.aclose()
    assert (event.type, event.instance.status) == (
        InstanceEventType.UPDATED,
        InstanceStatus.UNHEALTHY,
    )


def _instance(at: datetime, status: InstanceStatus = InstanceStatus.HEALTHY) -> Instance:
    """An instance registered at `at`."""
    ttl = timedelta(seconds=30)
    return Instance("api", "a", "h", 1, (), {}, status, ttl, at, at, at + ttl)


def test_change_type(clock: ManualClock) -> None:
    old = _instance(clock.now())
    later = clock.now() + timedelta(seconds=1)
    assert change_type(None, old) == InstanceEventType.REGISTERED
    assert change_type(old, old.renewed(later, None)) is None
    assert change_type(old, old.renewed(later, InstanceStatus.UNHEALTHY)) == (
        InstanceEventType.UPDATED
    )
    assert change_type(old, _instance(later)) == InstanceEventType.UPDATED


def test_page_tokens_round_trip_and_reject_foreign_tokens() -> None:
    assert decode_token("instances", encode_token("instances", "i-7")) == "i-7"
    assert decode_token("instances", "") == ""
    for bad in ("%%%", encode_token("services", "x"), "aW5zdGFuY2Vz"):
        with pytest.raises(ConcordError) as info:
            decode_token("instances", bad)
        assert info.value.code == ErrorCode.INVALID_ARGUMENT


def test_page_size_defaults_to_fifty_and_caps_at_a_thousand() -> None:
    items = [ServiceSummary(f"s{n:04}", 1, 1) for n in range(1200)]
    assert len(paginate(items, "name", "services", 0, "").items) == 50
    page = paginate(items, "name", "services", 5000, "")
    assert len(page.items) == 1000
    rest = paginate(items, "name", "services", 5000, page.next_page_token)
    assert len(rest.items) == 200 and rest.next_page_token == ""


async def test_tags_are_deduplicated_and_all_must_match(discovery: DiscoveryService) -> None:
    instance = await discovery.register(reg("a", tags=["x", "y", "x"]))
    assert instance.tags == ("x", "y")
    assert len((await discovery.list_instances("api", tags=["y", "x"])).items) == 1
    assert (await discovery.list_instances("api", tags=["x", "z"])).items == []


async def test_slow_watcher_is_disconnected(discovery: DiscoveryService) -> None:
    watch = await discovery.watch("api")
    first = asyncio.ensure_future(anext(watch))
    await asyncio.sleep(0)
    for n in range(6):
        await discovery.register(reg(f"i{n}"))
    await first
    with pytest.raises(SlowConsumerError):
        while True:
            await anext(watch)


class _ReplayRegistry(MemoryRegistry):
    """A registry whose watch replays changes already contained in its snapshot."""

    async def watch(self, service: str, now: datetime, limit: int) -> ServiceWatch:
        hub: Broadcaster[InstanceEvent] = Broadcaster()
        changes = hub.subscribe(limit=limit)
        instance = _instance(now)
        for revision in (4, 5, 6):
            hub.publish(InstanceEvent(InstanceEventType.UPDATED, instance, now, revision))
        changes.close()
        return ServiceWatch([instance], changes, after_revision=5)


async def test_watch_skips_changes_already_in_the_snapshot(clock: ManualClock) -> None:
    discovery = DiscoveryService(_ReplayRegistry(), clock)
    events = [event async for event in await discovery.watch("api")]
    assert [(e.type, e.revision) for e in events] == [
        (InstanceEventType.REGISTERED, 0),
        (InstanceEventType.UPDATED, 6),
    ]


async def test_sweeper_expires_in_the_background(
    discovery: DiscoveryService, registry: MemoryRegistry, clock: ManualClock
) -> None:
    sweeper = DiscoverySweeper(discovery, registry, "memory", interval=0.01)
    await sweeper.check()
    await discovery.register(reg("a", ttl=timedelta(seconds=1)))
    watch = await discovery.watch("api")
    await anext(watch)
    await sweeper.start()
    clock.advance(2)
    event = await asyncio.wait_for(anext(watch), 2)
    await sweeper.stop()
    await watch.aclose()
    assert event.type == InstanceEventType.EXPIRED
