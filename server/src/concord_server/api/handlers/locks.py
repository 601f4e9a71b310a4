"""LockService handlers: contract messages in, domain calls, contract messages out."""

from __future__ import annotations

from concord_server._gen.concord.v1 import locks_pb2
from concord_server.api import convert
from concord_server.backends import registry
from concord_server.backends.connections import Connections
from concord_server.clock import Clock
from concord_server.component import Wired
from concord_server.config import Settings
from concord_server.context import CallContext
from concord_server.domain.locks import LockComponent, LockService
from concord_server.ports.locks import LockEvent, LockEventType, LockRecord
from concord_server.streams import OpenStream
from concord_server.telemetry.samplers import locks_held

_EVENT_TYPES = {
    LockEventType.ACQUIRED: locks_pb2.LOCK_EVENT_TYPE_ACQUIRED,
    LockEventType.RELEASED: locks_pb2.LOCK_EVENT_TYPE_RELEASED,
    LockEventType.EXPIRED: locks_pb2.LOCK_EVENT_TYPE_EXPIRED,
}


def lock_message(record: LockRecord) -> locks_pb2.Lock:
    """The contract's Lock from a grant."""
    return locks_pb2.Lock(
        name=record.name,
        owner=record.owner,
        fencing_token=record.fencing_token,
        acquired_at=convert.timestamp(record.acquired_at),
        expires_at=convert.timestamp(record.expires_at),
        ttl=convert.duration(record.ttl),
    )


def event_message(event: LockEvent) -> locks_pb2.WatchLocksResponse:
    """The contract's WatchLocksResponse from a lock event."""
    return locks_pb2.WatchLocksResponse(
        type=_EVENT_TYPES[event.type],
        lock=lock_message(event.lock),
        occurred_at=convert.timestamp(event.occurred_at),
    )


class LockHandlers:
    """The RPCs of concord.v1.LockService."""

    SERVICE = "concord.v1.LockService"

    def __init__(self, service: LockService) -> None:
        self._service = service

    async def AcquireLock(
        self, request: locks_pb2.AcquireLockRequest, ctx: CallContext
    ) -> locks_pb2.AcquireLockResponse:
        """Acquires a lock, waiting in line up to `wait_timeout`."""
        record = await self._service.acquire(
            request.name,
            request.owner,
            convert.to_timedelta(request.ttl),
            convert.optional_timedelta(request, "wait_timeout"),
        )
        return locks_pb2.AcquireLockResponse(lock=lock_message(record))

    async def RenewLock(
        self, request: locks_pb2.RenewLockRequest, ctx: CallContext
    ) -> locks_pb2.RenewLockResponse:
        """Extends the holder's grant."""
        record = await self._service.renew(
            request.name, request.owner, request.fencing_token, convert.to_timedelta(request.ttl)
        )
        return locks_pb2.RenewLockResponse(lock=lock_message(record))

    async def ReleaseLock(
        self, request: locks_pb2.ReleaseLockRequest, ctx: CallContext
    ) -> locks_pb2.ReleaseLockResponse:
        """Releases the holder's grant."""
        record = await self._service.release(request.name, request.owner, request.fencing_token)
        return locks_pb2.ReleaseLockResponse(lock=lock_message(record))

    async def GetLock(
        self, request: locks_pb2.GetLockRequest, ctx: CallContext
    ) -> locks_pb2.GetLockResponse:
        """Returns the current holder."""
        record = await self._service.get(request.name)
        return locks_pb2.GetLockResponse(lock=lock_message(record))

    async def ListLocks(
        self, request: locks_pb2.ListLocksRequest, ctx: CallContext
    ) -> locks_pb2.ListLocksResponse:
        """Lists held locks by prefix, one page at a time."""
        page = await self._service.list(request.prefix, request.page_size, request.page_token)
        return locks_pb2.ListLocksResponse(
            locks=[lock_message(record) for record in page.locks],
            next_page_token=page.next_page_token,
        )

    async def WatchLocks(
        self, request: locks_pb2.WatchLocksRequest, ctx: CallContext
    ) -> OpenStream[locks_pb2.WatchLocksResponse]:
        """Streams lock changes for names with the prefix."""
        return (await self._service.watch(request.prefix)).map(event_message)


async def wire(settings: Settings, connections: Connections, clock: Clock) -> Wired:
    """Opens the lock store of `settings.locks_url` and builds the handlers and the sweeper."""
    store = await registry.open_backend("locks", settings.locks_url, settings, connections)
    service = LockService(store, clock)
    component = LockComponent(store, registry.scheme_of(settings.locks_url))
    return Wired(
        handlers=[LockHandlers(service)], components=[component], samplers=[locks_held(store)]
    )
