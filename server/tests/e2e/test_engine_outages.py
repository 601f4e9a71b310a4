"""Engine outages under load answer as the catalogue says (issue 7, finding 3).

One server keeps locks, events, sagas and RBAC in PostgreSQL, the cache, rate limits and
idempotency records in Redis and discovery in etcd, all private engines of this test. Clients
call it over REST and gRPC without pause while each engine in turn crashes, shuts down, starts
up or is killed and restarted. Every answer must be a success or a retryable UNAVAILABLE with
Retry-After that names no engine address (never INTERNAL, never a dropped connection), and after
each outage every operation must succeed again.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from concord_server._gen.concord.v1 import locks_pb2
from tests.e2e.live import ADMIN_KEY, LiveServer
from tests.engines import Etcd, Postgres, Redis, scratch_home

HTTP_CLIENTS = 6
RECOVERY_SECONDS = 120.0  # generous: the machine may be busy
REQUEST_SECONDS = 60.0  # an answer slower than this is a hang
GRPC_AUTH = (("x-api-key", ADMIN_KEY),)
POSTGRES_OPS = ("lock", "event", "saga", "roles", "grpc lock")
ETCD_OPS = ("discovery",)
ALL_OPS = (*POSTGRES_OPS, "cache", *ETCD_OPS)


@dataclass
class Load:
    """Clients that call without pause, and what they saw."""

    server: LiveServer
    failures: list[str] = field(default_factory=list)
    seen: dict[str, dict[str, float]] = field(default_factory=dict)  # op -> outcome -> last at
    counts: Counter[str] = field(default_factory=Counter)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, op: str, outcome: str) -> None:
        """Keeps when an operation last ended with `outcome` (ok or unavailable)."""
        self.seen.setdefault(op, {})[outcome] = time.monotonic()
        self.counts[outcome] += 1

    def record(self, op: str, response: httpx.Response) -> bool:
        """Classifies an HTTP answer; True when it succeeded."""
        if response.status_code == 200:
            self.note(op, "ok")
            return True
        text = response.text
        problem = response.json() if "json" in response.headers.get("content-type", "") else {}
        retryable = response.status_code == 503 and problem.get("code") == "UNAVAILABLE"
        if not retryable or "retry-after" not in response.headers or "127.0.0.1" in text:
            self.failures.append(f"{op}: {response.status_code} {text[:300]}")
        else:
            self.note(op, "unavailable")
        return False

    def since(self, ops: tuple[str, ...], outcome: str, moment: float) -> list[str]:
        """The operations that ended with `outcome` after `moment`."""
        return [op for op in ops if self.seen.get(op, {}).get(outcome, 0.0) > moment]

    def all_ok(self, moment: float) -> bool:
        """Whether every operation succeeded after `moment`."""
        return self.since(ALL_OPS, "ok", moment) == list(ALL_OPS)

    async def until(self, what: str, condition: Callable[[], bool]) -> None:
        """Waits for a condition of the load; fails naming it after RECOVERY_SECONDS."""
        deadline = time.monotonic() + RECOVERY_SECONDS
        while not condition():
            if self.failures:
                pytest.fail(
                    f"{what}: answers broke the contract: {self.failures[:10]}\n"
                    f"server log:\n{self.server.log_tail(80)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {RECOVERY_SECONDS:g} s ({self.seen})")
            await asyncio.sleep(0.1)

    async def http_client(self, number: int) -> None:
        """One REST client: every HTTP operation in turn, until stopped."""
        me = f"client-{number}"
        headers = {"X-API-Key": ADMIN_KEY}
        async with httpx.AsyncClient(
            base_url=self.server.base_url, headers=headers, timeout=REQUEST_SECONDS
        ) as http:
            while not self.stopping.is_set():
                for op in HTTP_OPERATIONS:
                    try:
                        await op(self, http, me)
                    except httpx.HTTPError as exc:  # a dropped connection breaks the contract
                        self.failures.append(f"{op.__name__}: {type(exc).__name__}: {exc}")

    async def grpc_client(self) -> None:
        """Acquires and releases a lock over gRPC until stopped."""
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.server.grpc_port}") as channel:
            acquire = channel.unary_unary(
                "/concord.v1.LockService/AcquireLock",
                request_serializer=locks_pb2.AcquireLockRequest.SerializeToString,
                response_deserializer=locks_pb2.AcquireLockResponse.FromString,
            )
            release = channel.unary_unary(
                "/concord.v1.LockService/ReleaseLock",
                request_serializer=locks_pb2.ReleaseLockRequest.SerializeToString,
                response_deserializer=locks_pb2.ReleaseLockResponse.FromString,
            )
            while not self.stopping.is_set():
                request = locks_pb2.AcquireLockRequest(name="grpc-outage", owner="grpc")
                request.ttl.FromSeconds(300)
                granted = await self.grpc_call(acquire(request, metadata=GRPC_AUTH))
                if granted is not None:
                    token = granted.lock.fencing_token
                    done = locks_pb2.ReleaseLockRequest(
                        name="grpc-outage", owner="grpc", fencing_token=token
                    )
                    await self.grpc_call(release(done, metadata=GRPC_AUTH))

    async def grpc_call(self, call: Awaitable[Any]) -> Any:
        """Classifies a gRPC answer; the response when it succeeded."""
        try:
            response = await asyncio.wait_for(call, REQUEST_SECONDS)
        except grpc.aio.AioRpcError as exc:
            trailers = dict(exc.trailing_metadata() or ())
            if exc.code() != grpc.StatusCode.UNAVAILABLE or "retry-after" not in trailers:
                self.failures.append(f"grpc lock: {exc.code()} {exc.details()}")
            elif "127.0.0.1" in (exc.details() or ""):
                self.failures.append(f"grpc lock names an address: {exc.details()}")
            else:
                self.note("grpc lock", "unavailable")
            return None
        except TimeoutError:
            self.failures.append("grpc lock: no answer")
            return None
        self.note("grpc lock", "ok")
        return response


async def lock_op(load: Load, http: httpx.AsyncClient, me: str) -> None:
    """Acquire (with an idempotency key, so the replay store is used) and release."""
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"owner": me, "ttl": "300s"}
    got = await http.post(f"/v1/locks/outage-{me}:acquire", json=body, headers=key)
    if load.record("lock", got):
        token = got.json()["lock"]["fencing_token"]
        done = {"owner": me, "fencing_token": token}
        load.record("lock", await http.post(f"/v1/locks/outage-{me}:release", json=done))


async def event_op(load: Load, http: httpx.AsyncClient, me: str) -> None:
    """Append one event to the client's stream."""
    event = {"event_id": str(uuid.uuid4()), "type": "Outage", "data": {"by": me}}
    load.record(
        "event", await http.post(f"/v1/streams/outage-{me}:append", json={"events": [event]})
    )


async def saga_op(load: Load, http: httpx.AsyncClient, me: str) -> None:
    """Start a one-task saga (nobody works it)."""
    step = {"name": "only", "action": {"task": {"task_type": f"outage.{me}"}}}
    body = {"saga_id": uuid.uuid4().hex, "definition": {"name": "outage", "steps": [step]}}
    load.record("saga", await http.post("/v1/sagas", json=body))


async def roles_op(load: Load, http: httpx.AsyncClient, me: str) -> None:
    """List roles."""
    load.record("roles", await http.get("/v1/roles", params={"page_size": 5}))


async def cache_op(load: Load, http: httpx.AsyncClient, me: str) -> None:
    """Set the client's entry, then read it."""
    entry = f"/v1/cache/outage/entries/{me}"
    if load.record("cache", await http.put(entry, json={"value": {"by": me}, "ttl": "300s"})):
        load.record("cache", await http.get(entry))


async def discovery_op(load: Load, http: httpx.AsyncClient, me: str) -> None:
    """Register (or re-register) the client as an instance."""
    body = {"address": "10.0.0.1", "port": 8080, "ttl": "60s"}
    load.record("discovery", await http.put(f"/v1/services/outage/instances/{me}", json=body))


HTTP_OPERATIONS = (lock_op, event_op, saga_op, roles_op, cache_op, discovery_op)


@dataclass
class Engines:
    """The test's private engines."""

    postgres: Postgres
    redis: Redis
    etcd: Etcd


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[Engines]:
    """PostgreSQL, Redis and etcd of this test alone, stopped and removed afterwards."""
    pg_home = scratch_home("concord-outage-pg-")
    running = Engines(Postgres(pg_home), Redis(tmp_path / "redis"), Etcd(tmp_path / "etcd"))
    try:
        for engine in (running.postgres, running.redis, running.etcd):
            engine.start()
        yield running
    finally:
        for engine in (running.postgres, running.redis, running.etcd):
            engine.kill()
        shutil.rmtree(pg_home, ignore_errors=True)


async def ready(server: LiveServer) -> bool:
    """Whether readiness answers 200."""
    async with httpx.AsyncClient(timeout=REQUEST_SECONDS) as http:
        return (await http.get(server.base_url + "/v1/health/ready")).status_code == 200


async def outage(
    load: Load,
    name: str,
    ops: tuple[str, ...],
    disrupt: Callable[[], object],
    restore: Callable[[], object] | None,
) -> None:
    """Disrupts an engine under load; keeps it down until the load has seen UNAVAILABLE, then
    restores it and waits until every operation succeeds again and the server is ready."""
    began = time.monotonic()
    await asyncio.to_thread(disrupt)
    if restore is not None:
        await load.until(
            f"{name}: an UNAVAILABLE", lambda: bool(load.since(ops, "unavailable", began))
        )
        await asyncio.to_thread(restore)
    back = time.monotonic()
    await load.until(
        f"{name}: every operation succeeds again",
        lambda: load.since(ALL_OPS, "ok", back) == list(ALL_OPS),
    )
    deadline = time.monotonic() + RECOVERY_SECONDS
    while not await ready(load.server):
        assert time.monotonic() < deadline, f"{name}: not ready again"
        await asyncio.sleep(0.2)


async def run_outages(load: Load, engines: Engines) -> None:
    """Starts the clients, runs every outage in turn, then stops the clients."""
    pg, redis, etcd = engines.postgres, engines.redis, engines.etcd
    clients = [asyncio.create_task(load.http_client(n)) for n in range(HTTP_CLIENTS)]
    clients.append(asyncio.create_task(load.grpc_client()))
    try:
        await load.until("the load to run", lambda: load.all_ok(0.0))
        await outage(load, "PostgreSQL crash recovery", POSTGRES_OPS, pg.crash_a_backend, None)
        await outage(load, "PostgreSQL fast shutdown", POSTGRES_OPS, pg.stop, pg.start)
        await outage(load, "PostgreSQL starting up", POSTGRES_OPS, pg.stop_into_standby, pg.promote)
        await outage(load, "PostgreSQL killed", POSTGRES_OPS, pg.kill, pg.start)
        await outage(load, "Redis killed", ALL_OPS, redis.kill, redis.start)
        await outage(load, "etcd killed", ETCD_OPS, etcd.kill, etcd.start)
    finally:
        load.stopping.set()
        await asyncio.gather(*clients)


def test_engine_outages_answer_only_success_or_unavailable(
    tmp_path: Path, engines: Engines
) -> None:
    pg, redis, etcd = engines.postgres, engines.redis, engines.etcd
    overrides = {
        "CONCORD_LOCKS_URL": pg.url,
        "CONCORD_EVENTS_URL": pg.url,
        "CONCORD_SAGAS_URL": pg.url,
        "CONCORD_RBAC_URL": pg.url,
        "CONCORD_CACHE_URL": redis.url,
        "CONCORD_RATELIMIT_URL": redis.url,
        "CONCORD_IDEMPOTENCY_URL": redis.url,
        "CONCORD_DISCOVERY_URL": etcd.url,
        "CONCORD_RATE_LIMIT_PER_SECOND": "100000",
        "CONCORD_RATE_LIMIT_BURST": "100000",
    }
    server = LiveServer(tmp_path / "data", overrides).start()
    load = Load(server)
    try:
        asyncio.run(run_outages(load, engines))
    finally:
        server.stop()
    print(f"outages: answers {dict(load.counts)}")
    assert load.failures == [], load.failures[:20]
