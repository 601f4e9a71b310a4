"""etcd-specific discovery behaviour: the JSON-gateway client, key layout, event mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.etcd.client import (
    EtcdClient,
    KeyValue,
    WatchBatch,
    WatchEvent,
    b64,
    cmp_mod_revision,
    op_put,
    prefix_end,
    unb64,
)
from concord_server.backends.etcd.discovery import (
    EtcdRegistry,
    encode,
    lease_seconds,
    open_registry,
)
from concord_server.clock import SystemClock
from concord_server.config import Settings
from concord_server.domain.discovery import DiscoveryService, Registration
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.discovery import Instance, InstanceEventType, InstanceStatus
from tests.conftest import backend_url

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def instance(at: datetime = T0, status: InstanceStatus = InstanceStatus.HEALTHY) -> Instance:
    """An instance `api/a` registered at `at` with a 30 s TTL."""
    ttl = timedelta(seconds=30)
    return Instance("api", "a", "h", 1, ("t",), {"k": "v"}, status, ttl, at, at, at + ttl)


def kv(key: str, value: str = "", revision: int = 7) -> KeyValue:
    """A KeyValue as the watch would deliver it."""
    return KeyValue(key, value, 1, revision)


def test_keys_and_ranges() -> None:
    assert unb64(b64("concord/x")) == "concord/x"
    assert prefix_end("a/") == b"a0"
    assert prefix_end("a\xff") == "a\xff".encode()[:-1] + b"\xc0"
    assert cmp_mod_revision("k", 3)["mod_revision"] == "3"
    assert op_put("k", "v", 12345678901234567)["request_put"]["lease"] == "12345678901234567"


def test_lease_seconds_round_up() -> None:
    assert lease_seconds(timedelta(milliseconds=300)) == 1
    assert lease_seconds(timedelta(seconds=30)) == 30
    assert lease_seconds(timedelta(seconds=30.2)) == 31


def _registry() -> EtcdRegistry:
    """A registry whose client is never called."""
    return EtcdRegistry(EtcdClient("http://127.0.0.1:1"), "p/")


async def _events(
    registry: EtcdRegistry, *events: WatchEvent
) -> list[tuple[InstanceEventType, str]]:
    """The instance events a watch batch turns into."""
    sub = registry._events.subscribe()
    registry._receive(WatchBatch(revision=9, events=list(events)))
    sub.close()
    return [(event.type, event.instance.instance_id) async for event in sub]


async def test_watch_mapping_distinguishes_deregistration_from_expiry() -> None:
    registry = _registry()
    key = "p/concord/discovery/api/i/a"
    tomb = "p/concord/discovery/api/t/a"
    old = kv(key, encode(instance()))
    deregistered = await _events(
        registry, WatchEvent("DELETE", kv(key), old), WatchEvent("PUT", kv(tomb, "a"), None)
    )
    assert deregistered == [(InstanceEventType.DEREGISTERED, "a")]
    assert await _events(registry, WatchEvent("DELETE", kv(key), old)) == [
        (InstanceEventType.EXPIRED, "a")
    ]
    assert await _events(registry, WatchEvent("DELETE", kv(tomb), None)) == []


async def test_watch_mapping_of_puts() -> None:
    registry = _registry()
    key = "p/concord/discovery/api/i/a"
    first = instance()
    beat = first.renewed(T0 + timedelta(seconds=5), None)
    sick = first.renewed(T0 + timedelta(seconds=5), InstanceStatus.UNHEALTHY)
    again = instance(T0 + timedelta(seconds=40))

    def put(new: Instance, old: Instance | None) -> WatchEvent:
        return WatchEvent("PUT", kv(key, encode(new)), kv(key, encode(old)) if old else None)

    assert await _events(registry, put(first, None)) == [(InstanceEventType.REGISTERED, "a")]
    assert await _events(registry, put(beat, first)) == []
    assert await _events(registry, put(sick, first)) == [(InstanceEventType.UPDATED, "a")]
    assert await _events(registry, put(again, first)) == [
        (InstanceEventType.EXPIRED, "a"),
        (InstanceEventType.REGISTERED, "a"),
    ]


async def test_compaction_ends_current_watches() -> None:
    registry = _registry()
    changes = registry._events.subscribe()
    registry._subscriptions.add(changes)
    registry._revision = 42
    registry._restart_watchers()
    assert registry._revision == 0
    with pytest.raises(StopAsyncIteration):
        await changes.get()
    await registry.close()


async def test_unreachable_etcd_is_unavailable(settings: Settings) -> None:
    registry = await open_registry("etcd://127.0.0.1:1", settings, Connections())
    discovery = DiscoveryService(registry, SystemClock())
    calls = [
        discovery.register(Registration("api", "a", "h", 1)),
        discovery.heartbeat("api", "a"),
        discovery.deregister("api", "a"),
        discovery.list_instances("api"),
        discovery.list_services(),
        registry.ping(),
        discovery.watch("api"),  # fails at the open: nothing is subscribed
    ]
    for call in calls:
        with pytest.raises(ConcordError) as info:
            await call
        assert info.value.code == ErrorCode.UNAVAILABLE
    await registry.close()


@pytest.mark.etcd
async def test_every_key_carries_the_url_prefix(
    tmp_path: Path, settings: Settings, connections: Connections
) -> None:
    url = backend_url("etcd", tmp_path)
    prefix = url_option(url, "prefix")
    registry = await open_registry(url, settings, connections)
    discovery = DiscoveryService(registry, SystemClock())
    await discovery.register(Registration("api", "a", "h", 1))
    await discovery.register(Registration("web", "b", "h", 1))
    client = EtcdClient(f"http://{urlsplit(url).netloc}")
    kvs, _revision = await client.get_prefix(prefix + "/")
    assert [k.key for k in kvs] == [
        f"{prefix}/concord/discovery/api/i/a",
        f"{prefix}/concord/discovery/web/i/b",
    ]
    assert all(k.lease for k in kvs)
    await discovery.deregister("api", "a")
    await discovery.deregister("web", "b")
    assert (await client.get_prefix(prefix + "/"))[0] == []
    await client.close()
    await registry.close()


@pytest.mark.etcd
async def test_client_leases_and_transactions(tmp_path: Path) -> None:
    url = backend_url("etcd", tmp_path)
    key = url_option(url, "prefix") + "/k"
    client = EtcdClient(f"http://{urlsplit(url).netloc}")
    lease = await client.grant(5)
    assert await client.put(key, "v1", lease) is None
    stored = await client.get(key)
    assert stored is not None and (stored.value, stored.lease) == ("v1", lease)
    assert await client.keepalive(lease) > 0
    assert await client.txn([cmp_mod_revision(key, stored.mod_revision)], [op_put(key, "v2")])
    assert not await client.txn([cmp_mod_revision(key, stored.mod_revision)], [op_put(key, "v3")])
    assert (await client.get(key)).value == "v2"  # type: ignore[union-attr]
    lease2 = await client.grant(5)
    await client.put(key, "v4", lease2)
    assert await client.revoke(lease2) is True
    assert await client.get(key) is None
    assert await client.revoke(lease2) is False
    assert await client.keepalive(lease2) == 0
    await client.revoke(lease)
    await client.close()


class _FlakyWatchClient(EtcdClient):
    """A client whose watch stream breaks after one change, recording where each watch starts."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:1")
        self.starts: list[int] = []

    async def status(self) -> None:
        """Always answers."""

    async def watch(self, prefix: str, start_revision: int = 0) -> AsyncGenerator[WatchBatch, None]:
        """Opens at revision 10, delivers one registration, then fails."""
        self.starts.append(start_revision)
        yield WatchBatch(revision=10, events=[], created=True)
        if len(self.starts) == 1:
            key = prefix + "api/i/a"
            yield WatchBatch(
                revision=11, events=[WatchEvent("PUT", kv(key, encode(instance()), 11), None)]
            )
            raise ConcordError(ErrorCode.UNAVAILABLE, "connection reset")


async def test_watch_resumes_after_the_last_revision_seen() -> None:
    client = _FlakyWatchClient()
    registry = EtcdRegistry(client, "p/")
    changes = registry._events.subscribe()
    await registry._ensure_watcher()
    event = await asyncio.wait_for(changes.get(), 2)
    assert event.type == InstanceEventType.REGISTERED
    for _ in range(100):
        if len(client.starts) > 1:
            break
        await asyncio.sleep(0.05)
    assert client.starts[:2] == [0, 12]
    await registry.close()
