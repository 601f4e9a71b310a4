"""Fakes for testing the API spine without the domain: handlers, a guard, a rate check, an app.

The handlers answer a few RPCs of the contract in ways the tests can steer through request fields
(an owner or a prefix picks a behaviour) and record every request they receive.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from google.protobuf import duration_pb2, timestamp_pb2

from concord_server._gen.concord.v1 import (
    cache_pb2,
    discovery_pb2,
    events_pb2,
    locks_pb2,
)
from concord_server.api.dispatch import Dispatcher
from concord_server.api.faults import FaultInjector
from concord_server.api.handlers.health import HealthHandlers
from concord_server.api.ws import websocket_route
from concord_server.app import ConcordApp, install_contract_routes, install_http_behaviour
from concord_server.config import Settings
from concord_server.context import CallContext, Principal
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.idempotency import IdempotencyStore

SECRET = "secret database password 12345"  # must never reach a client


def lock(name: str, owner: str = "me", token: int = 1) -> locks_pb2.Lock:
    """A lock message with fixed times."""
    out = locks_pb2.Lock(name=name, owner=owner, fencing_token=token)
    out.acquired_at.FromJsonString("2026-01-02T03:04:05.123Z")
    out.ttl.FromJsonString("30s")
    return out


class FakeLocks:
    """LockService. Owner `boom` crashes, `conflict` conflicts, `patient` waits; see WatchLocks."""

    SERVICE = "concord.v1.LockService"

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any, CallContext]] = []
        self.watch_produced = 0
        self.watch_closed = asyncio.Event()
        self.watch_closes = 0
        self.many = 100_000
        self.wait_ended = asyncio.Event()

    def last(self, rpc: str) -> Any:
        """The last request an RPC received."""
        return next(req for name, req, _ in reversed(self.requests) if name == rpc)

    def last_ctx(self, rpc: str) -> CallContext:
        """The call context of the last request an RPC received."""
        found: CallContext = next(e[2] for e in reversed(self.requests) if e[0] == rpc)
        return found

    async def AcquireLock(
        self, request: locks_pb2.AcquireLockRequest, ctx: CallContext
    ) -> locks_pb2.AcquireLockResponse:
        self.requests.append(("AcquireLock", request, ctx))
        if request.owner == "boom":
            raise RuntimeError(SECRET)
        if request.owner == "conflict":
            raise ConcordError(
                ErrorCode.LOCK_CONFLICT, "held by someone else", {"holder": "other", "token": 7}
            )
        if request.owner == "wrong-type":
            return locks_pb2.GetLockResponse()  # type: ignore[return-value]
        if request.owner == "patient":
            try:
                await asyncio.Event().wait()  # waits in line until cancelled
            finally:
                self.wait_ended.set()
        return locks_pb2.AcquireLockResponse(lock=lock(request.name, request.owner, 42))

    async def GetLock(
        self, request: locks_pb2.GetLockRequest, ctx: CallContext
    ) -> locks_pb2.GetLockResponse:
        self.requests.append(("GetLock", request, ctx))
        if request.name == "missing":
            raise ConcordError(
                ErrorCode.NOT_FOUND, "lock 'missing' not found", {"resource": "lock"}
            )
        return locks_pb2.GetLockResponse(lock=lock(request.name))

    async def ListLocks(
        self, request: locks_pb2.ListLocksRequest, ctx: CallContext
    ) -> locks_pb2.ListLocksResponse:
        self.requests.append(("ListLocks", request, ctx))
        count = request.page_size or 2
        return locks_pb2.ListLocksResponse(
            locks=[lock(f"{request.prefix}{i}") for i in range(count)], next_page_token="next"
        )

    async def WatchLocks(
        self, request: locks_pb2.WatchLocksRequest, ctx: CallContext
    ) -> AsyncIterator[locks_pb2.WatchLocksResponse]:
        """By prefix: `fail` errs after 2, `boom` crashes after 1, `forever` never ends after 1,
        `silent` never sends anything, `many` streams `self.many` large messages; otherwise
        three events then the end."""
        self.requests.append(("WatchLocks", request, ctx))
        kinds = [
            locks_pb2.LOCK_EVENT_TYPE_ACQUIRED,
            locks_pb2.LOCK_EVENT_TYPE_RELEASED,
            locks_pb2.LOCK_EVENT_TYPE_EXPIRED,
        ]
        try:
            if request.prefix == "silent":
                await asyncio.Event().wait()
            if request.prefix == "many":
                pad = "x" * 1000
                for i in range(self.many):
                    self.watch_produced += 1
                    yield locks_pb2.WatchLocksResponse(type=kinds[0], lock=lock(f"m{i}", pad))
                    await asyncio.sleep(0)  # a live source: one message per loop turn
                return
            for i, kind in enumerate(kinds):
                if request.prefix == "fail" and i == 2:
                    raise ConcordError(ErrorCode.UNAVAILABLE, "storage went away", {"n": i})
                if request.prefix == "boom" and i == 1:
                    raise RuntimeError(SECRET)
                if request.prefix == "forever" and i == 1:
                    await asyncio.Event().wait()
                self.watch_produced += 1
                yield locks_pb2.WatchLocksResponse(type=kind, lock=lock(f"{request.prefix}{i}"))
        finally:
            self.watch_closes += 1
            self.watch_closed.set()


class FakeEvents:
    """EventService: ReadStream and AppendToStream echo, SubscribeToStream counts to 3."""

    SERVICE = "concord.v1.EventService"

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []

    async def ReadStream(
        self, request: events_pb2.ReadStreamRequest, ctx: CallContext
    ) -> events_pb2.ReadStreamResponse:
        self.requests.append(("ReadStream", request))
        return events_pb2.ReadStreamResponse()

    async def AppendToStream(
        self, request: events_pb2.AppendToStreamRequest, ctx: CallContext
    ) -> events_pb2.AppendToStreamResponse:
        self.requests.append(("AppendToStream", request))
        return events_pb2.AppendToStreamResponse(
            next_expected_revision=len(request.events) - 1,
            position=2**53 - 1,
            revisions=list(range(len(request.events))),
        )

    async def SubscribeToStream(
        self, request: events_pb2.SubscribeToStreamRequest, ctx: CallContext
    ) -> AsyncIterator[events_pb2.SubscribeToStreamResponse]:
        self.requests.append(("SubscribeToStream", request))
        for i in range(2):
            event = events_pb2.RecordedEvent(stream=request.stream, revision=i, type="T")
            event.data.string_value = f"e{i}"
            yield events_pb2.SubscribeToStreamResponse(event=event)
        yield events_pb2.SubscribeToStreamResponse(caught_up=True)


class FakeCache:
    """CacheService: WatchCache checks its namespace before streaming (the coroutine form)."""

    SERVICE = "concord.v1.CacheService"

    async def WatchCache(
        self, request: cache_pb2.WatchCacheRequest, ctx: CallContext
    ) -> AsyncIterator[cache_pb2.WatchCacheResponse]:
        if request.namespace == "missing":
            raise ConcordError(ErrorCode.NOT_FOUND, "namespace 'missing' not found")
        if request.namespace == "boom":
            raise RuntimeError(SECRET)

        async def changes() -> AsyncIterator[cache_pb2.WatchCacheResponse]:
            for key in ("a", "b"):
                yield cache_pb2.WatchCacheResponse(
                    type=cache_pb2.CACHE_EVENT_TYPE_SET, namespace=request.namespace, key=key
                )

        return changes()


class FakeDiscovery:
    """DiscoveryService: ListInstances echoes its filters."""

    SERVICE = "concord.v1.DiscoveryService"

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []

    async def ListInstances(
        self, request: discovery_pb2.ListInstancesRequest, ctx: CallContext
    ) -> discovery_pb2.ListInstancesResponse:
        self.requests.append(("ListInstances", request))
        instance = discovery_pb2.ServiceInstance(
            service=request.service, instance_id="i1", tags=list(request.tags)
        )
        return discovery_pb2.ListInstancesResponse(instances=[instance])


class FakeGuard:
    """`Authorization: Bearer <subject>` or `X-API-Key: <subject>`; `Bearer bad` is rejected.

    `deny` names actions that answer PERMISSION_DENIED; every check is recorded.
    """

    def __init__(self, deny: tuple[str, ...] = ()) -> None:
        self.deny = set(deny)
        self.checks: list[tuple[str, str, str]] = []
        self.authentications = 0

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        self.authentications += 1
        authorization = headers.get("authorization", "")
        if authorization.startswith("Bearer ") and authorization[7:] not in ("", "bad"):
            return Principal(subject=authorization[7:], credential_type="JWT")
        if headers.get("x-api-key"):
            key = headers["x-api-key"]
            return Principal(subject=key, credential_type="API_KEY", key_id="k-" + key)
        raise ConcordError(ErrorCode.UNAUTHENTICATED, "missing or invalid credential")

    async def authorize(self, principal: Principal, action: str, resource: str) -> None:
        self.checks.append((principal.subject, action, resource))
        if action in self.deny:
            raise ConcordError(
                ErrorCode.PERMISSION_DENIED,
                f"{principal.subject} may not {action} on {resource}",
                {"action": action, "resource": resource},
            )


class FakeRateCheck:
    """RATE_LIMITED (Retry-After: 7) for the subjects in `limited`."""

    def __init__(self, limited: tuple[str, ...] = ()) -> None:
        self.limited = set(limited)
        self.keys: list[str] = []

    async def __call__(self, key: str) -> None:
        self.keys.append(key)
        if key.split("|", 1)[0] in self.limited:
            raise ConcordError(
                ErrorCode.RATE_LIMITED,
                "slow down",
                {"retry_after_s": 7},
                headers={"Retry-After": "7"},
            )


@dataclass
class FakeComponent:
    """A component whose readiness check fails when `fail` is set (with `raises` if given)."""

    name: str
    backend: str = "memory"
    fail: bool = False
    raises: Exception | None = None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def check(self) -> None:
        if self.fail:
            raise self.raises or ConcordError(
                ErrorCode.UNAVAILABLE, f"{self.name} storage does not answer"
            )


@dataclass
class Harness:
    """A dispatcher over the fakes and the app built around it."""

    settings: Settings
    locks: FakeLocks = field(default_factory=FakeLocks)
    events: FakeEvents = field(default_factory=FakeEvents)
    discovery: FakeDiscovery = field(default_factory=FakeDiscovery)
    cache: FakeCache = field(default_factory=FakeCache)
    guard: FakeGuard = field(default_factory=FakeGuard)
    rate: FakeRateCheck = field(default_factory=FakeRateCheck)
    components: list[FakeComponent] = field(default_factory=list)
    faults: FaultInjector | None = None
    idempotency: IdempotencyStore | None = None

    def __post_init__(self) -> None:
        handlers: list[object] = [
            self.locks,
            self.events,
            self.discovery,
            self.cache,
            HealthHandlers(self.components),
        ]
        self.dispatcher = Dispatcher(handlers, self.guard, self.rate, self.faults, self.idempotency)
        self.app = build_app(self.dispatcher, self.settings)


def build_app(dispatcher: Dispatcher, settings: Settings) -> ConcordApp:
    """The HTTP app of `create_app` without the runtime: contract routes, WebSocket, errors."""
    app = ConcordApp(docs_url=None, redoc_url=None, openapi_url=None)
    install_contract_routes(app, dispatcher, settings)
    app.router.routes.append(websocket_route(dispatcher, settings))
    install_http_behaviour(app, settings)
    return app


def make_settings(**overrides: Any) -> Settings:
    """Settings that never read the environment's storage URLs."""
    base: dict[str, Any] = {"grpc_port": -1, "max_body_bytes": 4096}
    base.update(overrides)
    return Settings(**base)


AUTH = {"Authorization": "Bearer alice"}


@contextlib.asynccontextmanager
async def serve(app: Any, **config: Any) -> AsyncIterator[str]:
    """Runs `app` with uvicorn on 127.0.0.1 and a free port; yields `host:port`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    cfg = uvicorn.Config(app, log_level="warning", lifespan="off", **config)
    server = uvicorn.Server(cfg)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, 10)
        sock.close()


def duration(text: str) -> duration_pb2.Duration:
    """A Duration from its JSON text."""
    d = duration_pb2.Duration()
    d.FromJsonString(text)
    return d


def timestamp(text: str) -> timestamp_pb2.Timestamp:
    """A Timestamp from its JSON text."""
    t = timestamp_pb2.Timestamp()
    t.FromJsonString(text)
    return t
