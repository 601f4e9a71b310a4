"""CacheService handlers: map contract messages to the cache domain and back."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from google.protobuf import struct_pb2

from concord_server._gen.concord.v1 import cache_pb2
from concord_server.api import convert
from concord_server.backends import registry
from concord_server.backends.connections import Connections
from concord_server.clock import Clock
from concord_server.component import Wired
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.domain.cache import CacheService, CacheSweeper, EntryInput
from concord_server.errors import invalid_argument
from concord_server.ports.cache import CacheEntry, CacheEvent, CacheEventType, CacheStore
from concord_server.pubsub import Subscription
from concord_server.streams import OpenStream

SWEEP_INTERVAL_SECONDS = 0.5

_EVENT_TYPES = {
    CacheEventType.SET: cache_pb2.CACHE_EVENT_TYPE_SET,
    CacheEventType.DELETED: cache_pb2.CACHE_EVENT_TYPE_DELETED,
    CacheEventType.EXPIRED: cache_pb2.CACHE_EVENT_TYPE_EXPIRED,
}


def _json_value(value: struct_pb2.Value, field: str) -> Any:
    """The Python value of a `google.protobuf.Value`; INVALID_ARGUMENT when it holds nothing."""
    if value.WhichOneof("kind") is None:
        raise invalid_argument(f"{field} must hold a JSON value", field)
    return convert.to_python(value)


def entry_message(entry: CacheEntry) -> cache_pb2.CacheEntry:
    """The contract message of an entry."""
    return cache_pb2.CacheEntry(
        namespace=entry.namespace,
        key=entry.key,
        value=convert.value(entry.value()),
        etag=entry.etag,
        updated_at=convert.timestamp(entry.updated_at),
        expires_at=convert.timestamp(entry.expires_at),
    )


def event_message(event: CacheEvent) -> cache_pb2.WatchCacheResponse:
    """The contract message of an invalidation."""
    return cache_pb2.WatchCacheResponse(
        type=_EVENT_TYPES[event.type],
        namespace=event.namespace,
        key=event.key,
        etag=event.etag,
        occurred_at=convert.timestamp(event.occurred_at),
    )


class CacheHandlers:
    """The RPCs of concord.v1.CacheService."""

    SERVICE = "concord.v1.CacheService"

    def __init__(self, service: CacheService) -> None:
        self._service = service

    async def GetCacheEntry(
        self, request: cache_pb2.GetCacheEntryRequest, ctx: CallContext
    ) -> cache_pb2.GetCacheEntryResponse:
        """Returns a live entry."""
        entry = await self._service.get(request.namespace, request.key)
        return cache_pb2.GetCacheEntryResponse(entry=entry_message(entry))

    async def SetCacheEntry(
        self, request: cache_pb2.SetCacheEntryRequest, ctx: CallContext
    ) -> cache_pb2.SetCacheEntryResponse:
        """Writes an entry, possibly conditionally."""
        entry = await self._service.set(
            request.namespace,
            EntryInput(
                request.key,
                _json_value(request.value, "value"),
                convert.optional_timedelta(request, "ttl"),
            ),
            if_match=request.if_match,
            create_only=request.create_only,
        )
        return cache_pb2.SetCacheEntryResponse(entry=entry_message(entry))

    async def DeleteCacheEntry(
        self, request: cache_pb2.DeleteCacheEntryRequest, ctx: CallContext
    ) -> cache_pb2.DeleteCacheEntryResponse:
        """Deletes an entry, possibly conditionally."""
        deleted = await self._service.delete(
            request.namespace, request.key, if_match=request.if_match
        )
        return cache_pb2.DeleteCacheEntryResponse(deleted=deleted)

    async def BatchGetCacheEntries(
        self, request: cache_pb2.BatchGetCacheEntriesRequest, ctx: CallContext
    ) -> cache_pb2.BatchGetCacheEntriesResponse:
        """Returns the live entries among the keys and the missing keys."""
        result = await self._service.batch_get(request.namespace, list(request.keys))
        return cache_pb2.BatchGetCacheEntriesResponse(
            entries=[entry_message(e) for e in result.entries], missing_keys=result.missing_keys
        )

    async def BatchSetCacheEntries(
        self, request: cache_pb2.BatchSetCacheEntriesRequest, ctx: CallContext
    ) -> cache_pb2.BatchSetCacheEntriesResponse:
        """Writes every entry atomically."""
        inputs = [
            EntryInput(
                item.key,
                _json_value(item.value, f"entries[{index}].value"),
                convert.optional_timedelta(item, "ttl"),
            )
            for index, item in enumerate(request.entries)
        ]
        entries = await self._service.batch_set(request.namespace, inputs)
        return cache_pb2.BatchSetCacheEntriesResponse(entries=[entry_message(e) for e in entries])

    async def DeleteCacheEntriesByPrefix(
        self, request: cache_pb2.DeleteCacheEntriesByPrefixRequest, ctx: CallContext
    ) -> cache_pb2.DeleteCacheEntriesByPrefixResponse:
        """Deletes the entries whose key starts with the prefix."""
        count = await self._service.delete_prefix(request.namespace, request.prefix)
        return cache_pb2.DeleteCacheEntriesByPrefixResponse(deleted_count=count)

    async def WatchCache(
        self, request: cache_pb2.WatchCacheRequest, ctx: CallContext
    ) -> OpenStream[cache_pb2.WatchCacheResponse]:
        """Streams the namespace's invalidations until the caller goes away."""
        subscription = await self._service.watch(request.namespace, request.prefix)
        return OpenStream(_drain(subscription), subscription.close).map(event_message)


async def _drain(subscription: Subscription[CacheEvent]) -> AsyncGenerator[CacheEvent, None]:
    async with subscription:
        async for event in subscription:
            yield event


async def wire(settings: Settings, connections: Connections, clock: Clock) -> Wired:
    """Opens the cache store from `cache_url` and builds the handlers and the sweeper."""
    url = settings.cache_url
    store: CacheStore = await registry.open_backend("cache", url, settings, connections)
    service = CacheService(store, clock, watch_queue_limit=settings.ws_max_queue)
    sweeper = CacheSweeper(service, store, registry.scheme_of(url), SWEEP_INTERVAL_SECONDS)
    return Wired(handlers=[CacheHandlers(service)], components=[sweeper])
