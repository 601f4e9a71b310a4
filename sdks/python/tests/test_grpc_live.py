"""`concord.grpc` against a real server's gRPC port: skipped unless CONCORD_TEST_GRPC_TARGET
is set (`make test-sdks` starts the server; TLS ones need CONCORD_TEST_TLS_GRPC_TARGET)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

pytest.importorskip("grpc")

from concord import (
    APIConnectionError,
    EventData,
    ExpectedStreamState,
    LockConflictError,
    NotFoundError,
    SagaDefinition,
    SagaState,
    SagaWorker,
    StepAction,
    StepDefinition,
    Task,
    UnauthenticatedError,
    UnavailableError,
    WorkerTask,
)
from concord.grpc import AsyncGrpcConcord, GrpcConcord

TTL = timedelta(seconds=30)


@pytest.fixture
def target() -> str:
    """The live server's gRPC address (the test is skipped without one)."""
    value = os.environ.get("CONCORD_TEST_GRPC_TARGET", "")
    if not value:
        pytest.skip("CONCORD_TEST_GRPC_TARGET is not set (make test-sdks starts a server)")
    return value


@pytest.fixture
def client(target: str, live_key: str) -> Iterator[GrpcConcord]:
    """A sync gRPC client of the live server."""
    with GrpcConcord(target, api_key=live_key) as grpc_client:
        yield grpc_client


def test_locks_and_typed_errors(client: GrpcConcord, unique: str) -> None:
    name = f"{unique}-g"
    lock = client.locks.acquire(name, "a", TTL).lock
    assert lock is not None and lock.fencing_token >= 1 and lock.ttl == TTL
    with pytest.raises(LockConflictError) as caught:
        client.locks.acquire(name, "b", TTL)
    error = caught.value
    assert error.status == 409 and error.request_id.startswith("req")
    assert error.details.get("name") == name
    client.locks.release(name, "a", lock.fencing_token)
    with pytest.raises(NotFoundError):
        client.locks.get(name)


def test_missing_credential(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONCORD_API_KEY", raising=False)
    monkeypatch.delenv("CONCORD_BEARER_TOKEN", raising=False)
    with GrpcConcord(target) as anonymous, pytest.raises(UnauthenticatedError):
        anonymous.locks.get("x")


def test_injected_unavailable_is_retried(client: GrpcConcord, unique: str) -> None:
    fault = {"X-Concord-Test-Fault": f"{unique};2;UNAVAILABLE"}
    assert client.locks.acquire(f"{unique}-r", "w", TTL, extra_headers=fault).lock is not None
    other = {"X-Concord-Test-Fault": f"{unique}b;2;UNAVAILABLE"}
    with pytest.raises(UnavailableError):
        client.locks.get(f"{unique}-r", extra_headers=other, max_retries=1)


def test_pagination_and_raw_response(client: GrpcConcord, unique: str) -> None:
    for i in range(3):
        client.locks.acquire(f"{unique}-p{i}", "w", TTL)
    names = [lock.name for lock in client.locks.list(prefix=f"{unique}-p", page_size=2)]
    assert names == [f"{unique}-p{i}" for i in range(3)]
    raw = client.with_raw_response.locks.get(f"{unique}-p0")
    assert raw.status_code == 200 and raw.request_id.startswith("req")


def test_hold_helper(client: GrpcConcord, unique: str) -> None:
    name = f"{unique}-hold"
    with client.locks.hold(name, owner="a", ttl=TTL) as lock:
        assert lock.fencing_token > 0
        with pytest.raises(LockConflictError):
            client.locks.acquire(name, "b", TTL)
    assert client.locks.acquire(name, "b", TTL).lock is not None


def test_events_subscription_is_a_stream(client: GrpcConcord, unique: str) -> None:
    stream = f"{unique}-orders"
    events = [EventData(event_id=str(uuid.uuid4()), type="created", data={"n": i}) for i in (1, 2)]
    client.events.append(stream, events, expected_state=ExpectedStreamState.NO_STREAM)
    seen = []
    with client.events.subscribe(stream, from_revision=0) as subscription:
        for message in subscription:
            if message.caught_up:
                break
            assert message.event is not None
            seen.append(message.event.data)
    assert seen == [{"n": 1}, {"n": 2}]


def test_saga_worker(client: GrpcConcord, unique: str) -> None:
    step = StepDefinition(name="charge", action=StepAction(task=WorkerTask(task_type=unique)))
    client.sagas.start(f"{unique}-saga", SagaDefinition(name="order", steps=[step]), input={"a": 1})
    handled: list[Any] = []
    workers: list[SagaWorker] = []

    def charge(task: Task) -> dict[str, Any]:
        handled.append(task.input)
        workers[0].stop()
        return {"charged": True}

    workers.append(client.sagas.worker([unique], charge, wait_timeout=timedelta(seconds=2)))
    stopper = threading.Timer(60, workers[0].stop)
    stopper.start()
    workers[0].run()
    stopper.cancel()
    assert handled == [{"a": 1}]
    for _ in range(600):
        saga = client.sagas.get(f"{unique}-saga").saga
        if saga is not None and saga.state == SagaState.COMPLETED:
            break
        time.sleep(0.1)
    assert saga is not None and saga.state == SagaState.COMPLETED


def test_async_call_cancellation_and_stream(target: str, live_key: str, unique: str) -> None:
    name = f"{unique}-wait"

    async def run() -> list[str]:
        async with AsyncGrpcConcord(target, api_key=live_key) as aclient:
            watch = await aclient.locks.watch(prefix=name)
            await aclient.locks.acquire(name, "a", TTL)
            waiting = asyncio.ensure_future(
                aclient.locks.acquire(name, "b", TTL, wait_timeout=timedelta(seconds=120))
            )
            types = []
            async for event in watch:
                types.append(str(event.type))
                break
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await watch.aclose()
            held = await aclient.locks.get(name)
            assert held.lock is not None and held.lock.owner == "a"
            return types

    assert asyncio.run(run()) == ["ACQUIRED"]


@pytest.fixture
def tls() -> dict[str, str]:
    """The TLS server's gRPC address, its CA, and a client certificate it accepts."""
    value = os.environ.get("CONCORD_TEST_TLS_GRPC_TARGET", "")
    if not value:
        pytest.skip("CONCORD_TEST_TLS_GRPC_TARGET is not set (make test-sdks starts it)")
    return {
        "target": value,
        "ca": os.environ["CONCORD_TEST_TLS_CA_FILE"],
        "cert": os.environ["CONCORD_TEST_TLS_CLIENT_CERT"],
        "key": os.environ["CONCORD_TEST_TLS_CLIENT_KEY"],
    }


def test_tls_with_ca_bundle_and_client_certificate(
    tls: dict[str, str], live_key: str, unique: str
) -> None:
    pair = (tls["cert"], tls["key"])
    with GrpcConcord(tls["target"], api_key=live_key, ca_bundle=tls["ca"], client_cert=pair) as c:
        assert c.use_tls
        assert c.locks.acquire(f"{unique}-tls", "me", TTL).lock is not None
        event = EventData(event_id=str(uuid.uuid4()), type="t", data={"n": 1})
        c.events.append(f"{unique}-tls", [event])
        with c.events.subscribe(f"{unique}-tls", from_revision=0) as subscription:
            first = next(iter(subscription))
        assert first.event is not None and first.event.data == {"n": 1}


def test_tls_without_the_ca_fails_to_connect(tls: dict[str, str], live_key: str) -> None:
    client = GrpcConcord(tls["target"], api_key=live_key, tls=True, max_retries=0)
    with client, pytest.raises(APIConnectionError):
        client.health.live()
