"""etcd discovery registry: a key and a lease per instance, a tombstone per deregistration."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from concord_server.backends.connections import Connections, url_option
from concord_server.backends.etcd.client import (
    GRPC_NOT_FOUND,
    EtcdClient,
    EtcdError,
    KeyValue,
    WatchBatch,
    cmp_mod_revision,
    op_delete,
    op_put,
)
from concord_server.config import Settings
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
from concord_server.pubsub import Broadcaster, Subscription

log = logging.getLogger(__name__)

_RETRIES = 16
_READY_TIMEOUT = 5.0
_RECONNECT_DELAY = 0.5


def lease_seconds(ttl: timedelta) -> int:
    """An etcd lease TTL (whole seconds, rounded up) for an instance TTL."""
    return max(1, math.ceil(ttl.total_seconds()))


def encode(instance: Instance) -> str:
    """The JSON value stored for an instance."""
    return json.dumps(
        {
            "service": instance.service,
            "instance_id": instance.instance_id,
            "address": instance.address,
            "port": instance.port,
            "tags": list(instance.tags),
            "metadata": dict(instance.metadata),
            "status": instance.status.value,
            "ttl_us": instance.ttl // timedelta(microseconds=1),
            "registered_at": instance.registered_at.isoformat(),
            "last_heartbeat_at": instance.last_heartbeat_at.isoformat(),
            "expires_at": instance.expires_at.isoformat(),
        },
        separators=(",", ":"),
    )


def decode(value: str) -> Instance:
    """An instance from its stored JSON value."""
    raw = json.loads(value)
    return Instance(
        service=raw["service"],
        instance_id=raw["instance_id"],
        address=raw["address"],
        port=int(raw["port"]),
        tags=tuple(raw["tags"]),
        metadata=dict(raw["metadata"]),
        status=InstanceStatus(raw["status"]),
        ttl=timedelta(microseconds=int(raw["ttl_us"])),
        registered_at=datetime.fromisoformat(raw["registered_at"]),
        last_heartbeat_at=datetime.fromisoformat(raw["last_heartbeat_at"]),
        expires_at=datetime.fromisoformat(raw["expires_at"]),
    )


@contextlib.contextmanager
def etcd_errors() -> Iterator[None]:
    """Maps unexpected etcd answers to INTERNAL in our words, logged with etcd's own (an etcd
    that cannot serve now is UNAVAILABLE already, from the client)."""
    try:
        yield
    except EtcdError as exc:
        log.error("discovery storage (etcd) failed: code %d: %s", exc.code, exc.message)
        raise ConcordError(
            ErrorCode.INTERNAL, "discovery storage (etcd) failed", {"engine": "etcd"}
        ) from exc
    except (ValueError, KeyError) as exc:
        raise ConcordError(ErrorCode.INTERNAL, f"unreadable discovery record: {exc}") from exc


class EtcdRegistry:
    """A Registry on etcd, shared safely by any number of server processes."""

    def __init__(self, client: EtcdClient, key_prefix: str) -> None:
        self._client = client
        self._root = f"{key_prefix}concord/discovery/"
        self._events: Broadcaster[InstanceEvent] = Broadcaster()
        self._subscriptions: weakref.WeakSet[Subscription[InstanceEvent]] = weakref.WeakSet()
        self._watcher: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._revision = 0
        self._watcher_lock = asyncio.Lock()

    def _instance_key(self, service: str, instance_id: str) -> str:
        """The key of an instance record."""
        return f"{self._root}{service}/i/{instance_id}"

    def _tombstone_key(self, service: str, instance_id: str) -> str:
        """The key written in the same transaction that deletes a deregistered instance."""
        return f"{self._root}{service}/t/{instance_id}"

    def _parse_key(self, key: str) -> tuple[str, str, str] | None:
        """(service, "i" or "t", instance id) of one of our keys, or None."""
        parts = key.removeprefix(self._root).split("/", 2)
        return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None

    async def _forget_lease(self, lease: int) -> None:
        """Revokes a lease, ignoring one that is already gone."""
        if lease:
            with contextlib.suppress(EtcdError):
                await self._client.revoke(lease)

    async def register(self, instance: Instance, now: datetime) -> Instance:
        """Writes the instance under a new lease and revokes the replaced registration's lease."""
        key = self._instance_key(instance.service, instance.instance_id)
        with etcd_errors():
            lease = await self._client.grant(lease_seconds(instance.ttl))
            try:
                previous = await self._client.put(key, encode(instance), lease)
            except BaseException:
                await self._forget_lease(lease)
                raise
            if previous is not None and previous.lease != lease:
                await self._forget_lease(previous.lease)
        return instance

    async def heartbeat(
        self, service: str, instance_id: str, status: InstanceStatus | None, now: datetime
    ) -> Instance | None:
        """Keeps the lease alive once and rewrites the record if nobody changed it meanwhile."""
        key = self._instance_key(service, instance_id)
        with etcd_errors():
            dead_lease = 0
            for _ in range(_RETRIES):
                current = await self._live_record(key, now)
                if current is None or current[0].lease == dead_lease:
                    return None
                kv, instance = current
                if await self._client.keepalive(kv.lease) <= 0:
                    dead_lease = kv.lease  # expired, or replaced by a re-registration: re-read
                    continue
                renewed = instance.renewed(max(now, instance.last_heartbeat_at), status)
                put = op_put(key, encode(renewed), kv.lease)
                if await self._guarded_txn(key, kv, [put]):
                    return renewed
                await _backoff()
        raise _contention(service, instance_id)

    async def deregister(self, service: str, instance_id: str, now: datetime) -> bool:
        """Deletes the record and writes a tombstone in one transaction, then drops the lease."""
        key = self._instance_key(service, instance_id)
        tombstone = self._tombstone_key(service, instance_id)
        with etcd_errors():
            for _ in range(_RETRIES):
                current = await self._live_record(key, now)
                if current is None:
                    return False
                kv, _instance = current
                ops = [op_delete(key), op_put(tombstone, instance_id, kv.lease)]
                if await self._guarded_txn(key, kv, ops):
                    await self._forget_lease(kv.lease)
                    return True
                await _backoff()
        raise _contention(service, instance_id)

    async def _live_record(self, key: str, now: datetime) -> tuple[KeyValue, Instance] | None:
        """The record if it is live; a record past its expiry has its lease revoked now."""
        kv = await self._client.get(key)
        if kv is None:
            return None
        instance = decode(kv.value)
        if not instance.is_live(now):
            await self._forget_lease(kv.lease)
            return None
        return kv, instance

    async def _guarded_txn(self, key: str, kv: KeyValue, ops: list[dict[str, object]]) -> bool:
        """Runs `ops` if the record is unchanged; False on a race (an expired lease included)."""
        try:
            return await self._client.txn([cmp_mod_revision(key, kv.mod_revision)], ops)
        except EtcdError as exc:
            if exc.code == GRPC_NOT_FOUND:  # the lease expired between read and write
                return False
            raise

    async def instances(self, service: str, now: datetime) -> list[Instance]:
        """The live instances of a service, in id order."""
        with etcd_errors():
            kvs, _revision = await self._client.get_prefix(f"{self._root}{service}/i/")
            found = [decode(kv.value) for kv in kvs]
        return sorted((i for i in found if i.is_live(now)), key=lambda i: i.instance_id)

    async def services(self, now: datetime) -> list[ServiceSummary]:
        """The services with live instances, counted from one read of the whole registry."""
        with etcd_errors():
            kvs, _revision = await self._client.get_prefix(self._root)
            counts: dict[str, list[int]] = {}
            for kv in kvs:
                parsed = self._parse_key(kv.key)
                if parsed is None or parsed[1] != "i":
                    continue
                instance = decode(kv.value)
                if instance.is_live(now):
                    count = counts.setdefault(instance.service, [0, 0])
                    count[0] += 1
                    count[1] += instance.status == InstanceStatus.HEALTHY
        return [ServiceSummary(name, c[0], c[1]) for name, c in sorted(counts.items())]

    async def watch(self, service: str, now: datetime, limit: int) -> ServiceWatch:
        """Subscribes to the shared watch, then reads the instances at a known revision."""
        await self._ensure_watcher()
        changes = self._events.subscribe(lambda e: e.instance.service == service, limit)
        self._subscriptions.add(changes)
        try:
            with etcd_errors():
                kvs, revision = await self._client.get_prefix(f"{self._root}{service}/i/")
                snapshot = [decode(kv.value) for kv in kvs]
        except BaseException:
            changes.close()
            raise
        live = sorted((i for i in snapshot if i.is_live(now)), key=lambda i: i.instance_id)
        return ServiceWatch(live, changes, after_revision=revision)

    async def _ensure_watcher(self) -> None:
        """Starts the store's one etcd watch on the registry and waits until etcd created it."""
        async with self._watcher_lock:
            if self._watcher is None:
                await self._client.status()
                self._watcher = asyncio.create_task(self._watch_loop(), name="etcd-discovery")
        try:
            await asyncio.wait_for(self._ready.wait(), _READY_TIMEOUT)
        except TimeoutError:
            raise ConcordError(ErrorCode.UNAVAILABLE, "etcd did not start the watch") from None

    async def _watch_loop(self) -> None:
        """Follows every change under the registry, resuming after the last revision seen."""
        while True:
            try:
                start = self._revision + 1 if self._revision else 0
                async for batch in self._client.watch(self._root, start):
                    if batch.canceled:
                        self._restart_watchers()
                        break
                    self._receive(batch)
            except (ConcordError, EtcdError, ValueError, KeyError) as exc:
                log.warning("etcd discovery watch interrupted: %s; resuming", exc)
            await asyncio.sleep(_RECONNECT_DELAY)

    def _receive(self, batch: WatchBatch) -> None:
        """Records progress and relays a batch of changes."""
        if batch.created:
            self._revision = self._revision or batch.revision
            self._ready.set()
            return
        deregistered = {
            parsed
            for event in batch.events
            if event.kind == "PUT" and (parsed := self._parse_key(event.kv.key)) is not None
        }
        for event in batch.events:
            parsed = self._parse_key(event.kv.key)
            if parsed is not None and parsed[1] == "i":
                tombstone = (parsed[0], "t", parsed[2])
                for change in _changes(event.kind, event.kv, event.prev, tombstone in deregistered):
                    self._events.publish(change)
        self._revision = max(self._revision, batch.revision)

    def _restart_watchers(self) -> None:
        """After etcd compacted past our position: end every watch (clients re-watch)."""
        log.warning("etcd discovery watch fell behind compaction; ending current watches")
        self._revision = 0
        for subscription in list(self._subscriptions):
            subscription.close()

    async def sweep_expired(self, now: datetime) -> int:
        """Nothing to do: etcd leases expire instances (reads hide them from `expires_at`)."""
        return 0

    async def ping(self) -> None:
        """Raises UNAVAILABLE when etcd does not answer."""
        with etcd_errors():
            await self._client.status()

    async def close(self) -> None:
        """Stops the watch and closes the HTTP client."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self._client.close()


def _changes(
    kind: str, kv: KeyValue, prev: KeyValue | None, deregistered: bool
) -> list[InstanceEvent]:
    """The instance events of one watched change of an instance key."""
    revision = kv.mod_revision
    if kind == "DELETE":
        if prev is None:
            return []
        gone = decode(prev.value)
        if deregistered:
            return [
                InstanceEvent(InstanceEventType.DEREGISTERED, gone, datetime.now(UTC), revision)
            ]
        return [InstanceEvent(InstanceEventType.EXPIRED, gone, gone.expires_at, revision)]
    new = decode(kv.value)
    events: list[InstanceEvent] = []
    old = decode(prev.value) if prev is not None else None
    if old is not None and not old.is_live(new.last_heartbeat_at):
        events.append(InstanceEvent(InstanceEventType.EXPIRED, old, old.expires_at, revision))
        old = None
    change = change_type(old, new)
    if change is not None:
        events.append(InstanceEvent(change, new, new.last_heartbeat_at, revision))
    return events


async def _backoff() -> None:
    """A short random pause before retrying a transaction that lost a race."""
    await asyncio.sleep(random.uniform(0, 0.01))


def _contention(service: str, instance_id: str) -> ConcordError:
    """The retryable error of an instance changed by others on every attempt."""
    return ConcordError(
        ErrorCode.UNAVAILABLE,
        f"instance {service}/{instance_id} kept changing concurrently; retry",
        {"reason": "contention"},
    )


async def open_registry(url: str, settings: Settings, connections: Connections) -> EtcdRegistry:
    """An etcd registry for `etcd://host:port`; `?prefix=` prefixes every key."""
    parts = urlsplit(url)
    prefix = url_option(url, "prefix")
    client = EtcdClient(f"http://{parts.netloc}")
    return EtcdRegistry(client, f"{prefix}/" if prefix else "")
