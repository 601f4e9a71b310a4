"""The discovery contract, run against every Registry backend through the discovery domain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.etcd.client import b64, prefix_end
from concord_server.backends.registry import open_backend
from concord_server.clock import SystemClock
from concord_server.config import Settings
from concord_server.domain.discovery import DiscoveryService, Registration
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.discovery import (
    InstanceEvent,
    InstanceEventType,
    InstanceStatus,
    Registry,
)
from concord_server.streams import OpenStream
from tests.conftest import backend_url

MakeService = Callable[[], Awaitable[DiscoveryService]]
Watch = OpenStream[InstanceEvent]
SHARED_ENGINES = {"etcd"}
SHORT = timedelta(milliseconds=300)
HEALTHY, UNHEALTHY = InstanceStatus.HEALTHY, InstanceStatus.UNHEALTHY


@pytest.fixture(params=["memory", pytest.param("etcd", marks=pytest.mark.etcd)])
def kind(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return str(request.param)


async def _wipe_etcd(url: str) -> None:
    """Deletes every key under the test's etcd prefix."""
    prefix = url_option(url, "prefix") + "/"
    body = {"key": b64(prefix), "range_end": b64(prefix_end(prefix))}
    async with httpx.AsyncClient(base_url=f"http://{urlsplit(url).netloc}") as http:
        await http.post("/v3/kv/deleterange", json=body)


@pytest.fixture
async def make_service(
    kind: str, tmp_path: Path, settings: Settings, connections: Connections
) -> AsyncIterator[MakeService]:
    """Opens discovery services on one URL (two of them act as two server processes)."""
    url = backend_url(kind, tmp_path)
    registries: list[Registry] = []

    async def make() -> DiscoveryService:
        registry: Registry = await open_backend("discovery", url, settings, connections)
        registries.append(registry)
        return DiscoveryService(registry, SystemClock(), watch_queue_limit=100)

    yield make
    for registry in registries:
        await registry.close()
    if kind == "etcd":
        await _wipe_etcd(url)


@pytest.fixture
async def discovery(make_service: MakeService) -> DiscoveryService:
    """One discovery service."""
    return await make_service()


def reg(instance_id: str, service: str = "api", **extra: Any) -> Registration:
    """A registration of `instance_id` in `service`."""
    return Registration(service, instance_id, "10.0.0.1", 8080, **extra)


async def ids(discovery: DiscoveryService, service: str = "api", **options: Any) -> list[str]:
    """The ids ListInstances returns (first page)."""
    page = await discovery.list_instances(service, **options)
    return [i.instance_id for i in page.items]


async def expect_error(code: ErrorCode, call: Awaitable[Any]) -> ConcordError:
    """Awaits a call that must fail with `code`."""
    with pytest.raises(ConcordError) as info:
        await call
    assert info.value.code == code, info.value
    return info.value


async def next_event(watch: Watch) -> InstanceEvent:
    """The next event of a watch, failing the test if none comes within 5 s."""
    return await asyncio.wait_for(anext(watch), 5.0)


class TestRegistry:
    """Every backend honours the same discovery semantics."""

    async def test_register_applies_defaults(self, discovery: DiscoveryService) -> None:
        instance = await discovery.register(reg("a", tags=["x", "y", "x"], metadata={"v": "1"}))
        assert instance.status == HEALTHY
        assert instance.ttl == timedelta(seconds=30)
        assert instance.tags == ("x", "y")
        assert instance.registered_at == instance.last_heartbeat_at
        assert instance.expires_at == instance.registered_at + timedelta(seconds=30)
        [listed] = (await discovery.list_instances("api")).items
        assert listed == instance

    async def test_register_replaces(self, discovery: DiscoveryService) -> None:
        await discovery.register(reg("a", tags=["old"]))
        replaced = await discovery.register(
            Registration("api", "a", "10.9.9.9", 9, ("new",), {"k": "v"}, SHORT * 10, UNHEALTHY)
        )
        [listed] = (await discovery.list_instances("api", include_unhealthy=True)).items
        assert listed == replaced
        assert (listed.address, listed.port, listed.tags) == ("10.9.9.9", 9, ("new",))
        assert listed.metadata == {"k": "v"} and listed.ttl == SHORT * 10

    async def test_heartbeat_renews_and_keeps_status(self, discovery: DiscoveryService) -> None:
        first = await discovery.register(reg("a", status=UNHEALTHY))
        await asyncio.sleep(0.01)
        beat = await discovery.heartbeat("api", "a")
        assert beat.status == UNHEALTHY
        assert beat.last_heartbeat_at > first.last_heartbeat_at
        assert beat.expires_at == beat.last_heartbeat_at + first.ttl
        assert beat.registered_at == first.registered_at
        healthy = await discovery.heartbeat("api", "a", HEALTHY)
        assert healthy.status == HEALTHY
        assert (await discovery.list_instances("api")).items == [healthy]

    async def test_heartbeat_of_unknown_instance_is_not_found(
        self, discovery: DiscoveryService
    ) -> None:
        await expect_error(ErrorCode.NOT_FOUND, discovery.heartbeat("api", "ghost"))

    async def test_instances_expire_without_heartbeats(self, discovery: DiscoveryService) -> None:
        await discovery.register(reg("a", ttl=SHORT))
        await discovery.register(reg("b"))
        await asyncio.sleep(0.4)
        assert await ids(discovery) == ["b"]
        await expect_error(ErrorCode.NOT_FOUND, discovery.heartbeat("api", "a"))
        assert await discovery.deregister("api", "a") is False
        [summary] = (await discovery.list_services()).items
        assert (summary.name, summary.instance_count) == ("api", 1)

    async def test_heartbeats_keep_an_instance_alive(self, discovery: DiscoveryService) -> None:
        # Beats every 0.1 s for twice the TTL: only a stall of a whole TTL (2 s) between two
        # beats could expire it, so a busy machine cannot make this fail.
        ttl = timedelta(seconds=2)
        await discovery.register(reg("a", ttl=ttl))
        loop = asyncio.get_running_loop()
        until = loop.time() + 2 * ttl.total_seconds()
        while loop.time() < until:
            await asyncio.sleep(0.1)
            await discovery.heartbeat("api", "a")
        assert await ids(discovery) == ["a"]

    async def test_deregister(self, discovery: DiscoveryService) -> None:
        await discovery.register(reg("a"))
        assert await discovery.deregister("api", "a") is True
        assert await discovery.deregister("api", "a") is False
        assert await ids(discovery) == []
        await expect_error(ErrorCode.NOT_FOUND, discovery.heartbeat("api", "a"))
        assert (await discovery.list_services()).items == []

    async def test_listing_filters_health_and_tags(self, discovery: DiscoveryService) -> None:
        await discovery.register(reg("c", tags=["zone-a", "primary"]))
        await discovery.register(reg("a", tags=["zone-a"]))
        await discovery.register(reg("b", tags=["zone-a", "primary"], status=UNHEALTHY))
        await discovery.register(reg("d", service="other", tags=["zone-a"]))
        assert await ids(discovery) == ["a", "c"]
        assert await ids(discovery, include_unhealthy=True) == ["a", "b", "c"]
        assert await ids(discovery, tags=["primary", "zone-a"]) == ["c"]
        assert await ids(discovery, tags=["primary"], include_unhealthy=True) == ["b", "c"]
        assert await ids(discovery, tags=["zone-b"]) == []

    async def test_instances_are_paginated_in_id_order(self, discovery: DiscoveryService) -> None:
        for instance_id in ["e", "b", "d", "a", "c"]:
            await discovery.register(reg(instance_id))
        seen: list[str] = []
        token = ""
        while True:
            page = await discovery.list_instances("api", page_size=2, page_token=token)
            assert len(page.items) <= 2
            seen += [i.instance_id for i in page.items]
            token = page.next_page_token
            if not token:
                break
        assert seen == ["a", "b", "c", "d", "e"]
        await expect_error(
            ErrorCode.INVALID_ARGUMENT, discovery.list_instances("api", page_token="bogus!")
        )
        instances_token = (await discovery.list_instances("api", page_size=2)).next_page_token
        await expect_error(
            ErrorCode.INVALID_ARGUMENT, discovery.list_services(page_token=instances_token)
        )

    async def test_services_are_counted_and_paginated(self, discovery: DiscoveryService) -> None:
        await discovery.register(reg("1", service="web"))
        await discovery.register(reg("2", service="web", status=UNHEALTHY))
        await discovery.register(reg("1", service="api"))
        await discovery.register(reg("1", service="zzz", ttl=SHORT))
        await discovery.register(reg("1", service="db"))
        await asyncio.sleep(0.4)
        first = await discovery.list_services(page_size=2)
        second = await discovery.list_services(page_size=2, page_token=first.next_page_token)
        assert [(s.name, s.instance_count, s.healthy_count) for s in first.items] == [
            ("api", 1, 1),
            ("db", 1, 1),
        ]
        assert [(s.name, s.instance_count, s.healthy_count) for s in second.items] == [
            ("web", 2, 1)
        ]
        assert second.next_page_token == ""

    async def test_watch_streams_current_instances_then_changes(
        self, discovery: DiscoveryService
    ) -> None:
        await discovery.register(reg("b"))
        await discovery.register(reg("a", status=UNHEALTHY))
        watch = await discovery.watch("api")
        start = [await next_event(watch), await next_event(watch)]
        assert [(e.type, e.instance.instance_id) for e in start] == [
            (InstanceEventType.REGISTERED, "a"),
            (InstanceEventType.REGISTERED, "b"),
        ]
        await discovery.register(reg("x", service="other"))
        await discovery.register(reg("c"))
        await discovery.heartbeat("api", "c")
        await discovery.heartbeat("api", "a", HEALTHY)
        await discovery.deregister("api", "b")
        changes = [await next_event(watch) for _ in range(3)]
        await watch.aclose()
        assert [(e.type, e.instance.instance_id) for e in changes] == [
            (InstanceEventType.REGISTERED, "c"),
            (InstanceEventType.UPDATED, "a"),
            (InstanceEventType.DEREGISTERED, "b"),
        ]
        assert changes[1].instance.status == HEALTHY

    async def test_watch_reports_expiry(self, discovery: DiscoveryService) -> None:
        await discovery.register(reg("a", ttl=SHORT))
        watch = await discovery.watch("api")
        assert (await next_event(watch)).type == InstanceEventType.REGISTERED
        await asyncio.sleep(0.4)
        await expect_error(ErrorCode.NOT_FOUND, discovery.heartbeat("api", "a"))
        expired = await next_event(watch)
        await watch.aclose()
        assert (expired.type, expired.instance.instance_id) == (InstanceEventType.EXPIRED, "a")
        assert expired.occurred_at == expired.instance.expires_at

    async def test_re_registration_after_expiry_reads_as_a_new_instance(
        self, discovery: DiscoveryService
    ) -> None:
        await discovery.register(reg("a", ttl=SHORT))
        watch = await discovery.watch("api")
        assert (await next_event(watch)).type == InstanceEventType.REGISTERED
        await asyncio.sleep(0.4)
        await discovery.register(reg("a"))
        events = [await next_event(watch), await next_event(watch)]
        await watch.aclose()
        assert [e.type for e in events] == [
            InstanceEventType.EXPIRED,
            InstanceEventType.REGISTERED,
        ]

    @pytest.mark.slow
    async def test_expiry_is_announced_without_any_call(self, discovery: DiscoveryService) -> None:
        await discovery.register(reg("a", ttl=timedelta(seconds=1)))
        watch = await discovery.watch("api")
        assert (await next_event(watch)).type == InstanceEventType.REGISTERED
        pending = asyncio.ensure_future(anext(watch))
        for _ in range(50):  # memory: the sweep announces it; etcd: the lease runs out
            await discovery.sweep()
            done, _ = await asyncio.wait({pending}, timeout=0.1)
            if done:
                break
        event = await asyncio.wait_for(pending, 0.1)
        await watch.aclose()
        assert (event.type, event.instance.instance_id) == (InstanceEventType.EXPIRED, "a")

    async def test_concurrent_heartbeats_all_succeed(self, discovery: DiscoveryService) -> None:
        await discovery.register(reg("a"))
        statuses = [HEALTHY, UNHEALTHY] * 5
        beats = await asyncio.gather(*(discovery.heartbeat("api", "a", s) for s in statuses))
        assert len(beats) == 10
        [listed] = (await discovery.list_instances("api", include_unhealthy=True)).items
        assert listed.last_heartbeat_at == max(b.last_heartbeat_at for b in beats)

    async def test_concurrent_registrations(self, discovery: DiscoveryService) -> None:
        await asyncio.gather(*(discovery.register(reg(f"i{n:02}")) for n in range(20)))
        page = await discovery.list_instances("api", page_size=100)
        assert [i.instance_id for i in page.items] == [f"i{n:02}" for n in range(20)]


class TestTwoProcesses:
    """Two registries on one engine URL act as two server processes."""

    @pytest.fixture(autouse=True)
    def _shared_only(self, kind: str) -> None:
        if kind not in SHARED_ENGINES:
            pytest.skip("memory:// is private to one process")

    async def test_each_sees_the_other(self, make_service: MakeService) -> None:
        one, two = await make_service(), await make_service()
        await one.register(reg("a"))
        assert await ids(two) == ["a"]
        assert (await two.heartbeat("api", "a", UNHEALTHY)).status == UNHEALTHY
        assert await ids(one, include_unhealthy=True) == ["a"]
        assert await two.deregister("api", "a") is True
        assert await one.deregister("api", "a") is False

    async def test_watch_sees_the_other_process(self, make_service: MakeService) -> None:
        one, two = await make_service(), await make_service()
        await one.register(reg("a"))
        watch = await two.watch("api")
        assert (await next_event(watch)).instance.instance_id == "a"
        await one.register(reg("b"))
        await one.heartbeat("api", "a", UNHEALTHY)
        await one.deregister("api", "b")
        events = [await next_event(watch) for _ in range(3)]
        await watch.aclose()
        assert [(e.type, e.instance.instance_id) for e in events] == [
            (InstanceEventType.REGISTERED, "b"),
            (InstanceEventType.UPDATED, "a"),
            (InstanceEventType.DEREGISTERED, "b"),
        ]

    async def test_competing_deregistrations_remove_once(self, make_service: MakeService) -> None:
        one, two = await make_service(), await make_service()
        await one.register(reg("a"))
        results = await asyncio.gather(*(svc.deregister("api", "a") for svc in [one, two] * 5))
        assert sorted(results) == [False] * 9 + [True]
