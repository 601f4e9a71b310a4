"""`concord.grpc` against a scripted gRPC server: metadata, errors, retries, deadlines, streams."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

grpc = pytest.importorskip("grpc")

from concord import (  # noqa: E402
    APIConnectionError,
    APITimeoutError,
    ConcordAPIError,
    InvalidArgumentError,
    LockConflictError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from concord._grpc_gen.concord.v1 import health_pb2, locks_pb2  # noqa: E402
from concord.grpc import AsyncGrpcConcord, GrpcConcord  # noqa: E402

from .grpc_fake import FakeServer, fail, hang, reply, stream  # noqa: E402


def _lock(request: Any) -> Any:
    lock = locks_pb2.Lock(name=request.name, owner="me", fencing_token=7)
    lock.ttl.FromTimedelta(timedelta(seconds=30))
    return lock


def _get(request: Any) -> Any:
    return locks_pb2.GetLockResponse(lock=_lock(request))


def _acquire(request: Any) -> Any:
    return locks_pb2.AcquireLockResponse(lock=_lock(request))


def _live(request: Any) -> Any:
    return health_pb2.GetLivenessResponse(status=health_pb2.SERVING_STATUS_SERVING, version="9")


def _client(server: FakeServer, **options: Any) -> GrpcConcord:
    options.setdefault("api_key", "k-1")
    client = GrpcConcord(server.target, **options)
    sleeps: list[float] = []
    client._sleep_hook = sleeps.append
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def test_unary_call_maps_models_and_sends_metadata() -> None:
    with (
        FakeServer(reply(_get)) as server,
        _client(server, extra_headers={"X-Team": "a", "Accept": "text/plain"}) as client,
    ):
        answer = client.locks.get("orders", extra_headers={"X-Call": "b"})
    assert answer.lock is not None
    assert (answer.lock.name, answer.lock.fencing_token) == ("orders", 7)
    assert answer.lock.ttl == timedelta(seconds=30)
    md = server.calls[0].metadata
    assert server.calls[0].method == "/concord.v1.LockService/GetLock"
    assert (md["x-api-key"], md["x-team"], md["x-call"]) == ("k-1", "a", "b")
    assert "accept" not in md and "idempotency-key" not in md
    assert md["user-agent"].startswith("concord-python/")


def test_enums_travel_with_their_type_prefix() -> None:
    with FakeServer(reply(_live)) as server, _client(server) as client:
        assert str(client.health.live().status) == "SERVING"


def test_bearer_token_and_idempotency_key_are_metadata() -> None:
    with FakeServer(reply(_acquire)) as server, _client(server, bearer_token="jwt") as client:
        client.locks.acquire("a", "me", timedelta(seconds=5), idempotency_key="key-1")
        client.locks.acquire("a", "me", timedelta(seconds=5))
    first, second = (c.metadata for c in server.calls)
    assert first["authorization"] == "Bearer jwt" and first["idempotency-key"] == "key-1"
    assert len(second["idempotency-key"]) == 36  # a fresh UUID for a mutating call


def test_contract_error_details_become_the_typed_error() -> None:
    answer = fail(grpc.StatusCode.ABORTED, "LOCK_CONFLICT", "held by bob")
    with (
        FakeServer(answer) as server,
        _client(server) as client,
        pytest.raises(LockConflictError) as caught,
    ):
        client.locks.acquire("a", "me", timedelta(seconds=5))
    error = caught.value
    assert (error.code, error.status, error.message) == ("LOCK_CONFLICT", 409, "held by bob")
    assert (error.details, error.request_id, error.response) == ({"k": 2}, "req-body", None)


@pytest.mark.parametrize(
    ("code", "cls", "status"),
    [
        (grpc.StatusCode.NOT_FOUND, NotFoundError, 404),
        (grpc.StatusCode.INVALID_ARGUMENT, InvalidArgumentError, 400),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, RateLimitedError, 429),
    ],
)
def test_a_bare_status_maps_to_its_catalogue_error(
    code: Any, cls: type[ConcordAPIError], status: int
) -> None:
    with (
        FakeServer(fail(code)) as server,
        _client(server, max_retries=0) as client,
        pytest.raises(cls) as caught,
    ):
        client.locks.get("a")
    assert caught.value.status == status and caught.value.request_id == "req-trailer"


def test_a_status_outside_the_catalogue_is_a_plain_api_error() -> None:
    with (
        FakeServer(fail(grpc.StatusCode.DATA_LOSS)) as server,
        _client(server) as client,
        pytest.raises(ConcordAPIError) as caught,
    ):
        client.locks.get("a")
    assert (type(caught.value), caught.value.code) == (ConcordAPIError, "DATA_LOSS")


def test_unavailable_is_retried_with_the_same_idempotency_key() -> None:
    down = fail(grpc.StatusCode.UNAVAILABLE)
    with FakeServer(down, down, reply(_acquire)) as server, _client(server) as client:
        client.locks.acquire("a", "me", timedelta(seconds=5))
        assert len(client.sleeps) == 2  # type: ignore[attr-defined]
    keys = {c.metadata["idempotency-key"] for c in server.calls}
    assert len(server.calls) == 3 and len(keys) == 1


def test_retry_after_is_honoured_and_the_budget_is_the_calls() -> None:
    limited = fail(
        grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED", trailers=(("retry-after", "1.5"),)
    )
    with FakeServer(limited) as server, _client(server) as client, pytest.raises(RateLimitedError):
        client.locks.get("a", max_retries=1)
        assert client.sleeps == [1.5]  # type: ignore[attr-defined]
    assert len(server.calls) == 2


def test_final_errors_are_not_retried() -> None:
    answer = fail(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    with (
        FakeServer(answer) as server,
        _client(server) as client,
        pytest.raises(InvalidArgumentError),
    ):
        client.locks.get("a")
    assert len(server.calls) == 1


def test_unavailable_with_details_is_the_typed_error_after_the_retries() -> None:
    answer = fail(grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE")
    with (
        FakeServer(answer) as server,
        _client(server, max_retries=1) as client,
        pytest.raises(UnavailableError),
    ):
        client.health.live()
    assert len(server.calls) == 2


def test_timeout_is_the_deadline_of_each_attempt() -> None:
    release = threading.Event()
    with FakeServer(hang(release)) as server, _client(server, max_retries=0) as client:
        # Connected first, so that the whole deadline is left for the call to reach the
        # server even on a busy machine.
        grpc.channel_ready_future(client._grpc.channel).result(timeout=30)
        try:
            with pytest.raises(APITimeoutError):
                client.locks.get("a", timeout=1.5)
        finally:
            release.set()
    remaining = server.calls[0].time_remaining
    # gRPC sends the deadline as a rounded timeout: the server's view may be a little longer.
    assert remaining is not None and 0 < remaining <= 1.5 + 0.05


def test_an_unreachable_server_is_a_connection_error() -> None:
    with FakeServer(reply(_get)) as server:
        target = server.target
    with (
        GrpcConcord(target, api_key="k", max_retries=0) as client,
        pytest.raises(APIConnectionError),
    ):
        client.locks.get("a")


def _events(request: Any) -> Iterator[Any]:
    for n in (1, 2):
        lock = locks_pb2.Lock(name=f"{request.prefix}{n}", fencing_token=n)
        yield locks_pb2.WatchLocksResponse(type=locks_pb2.LOCK_EVENT_TYPE_ACQUIRED, lock=lock)


def test_server_stream_is_an_iterator_of_models() -> None:
    with (
        FakeServer(stream(_events)) as server,
        _client(server) as client,
        client.locks.watch(prefix="p-") as watch,
    ):
        got = [(str(m.type), m.lock.name if m.lock else "") for m in watch]
    assert got == [("ACQUIRED", "p-1"), ("ACQUIRED", "p-2")]


def test_a_refused_stream_raises_when_opened() -> None:
    answer = fail(grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED", "no")
    with (
        FakeServer(answer) as server,
        _client(server) as client,
        pytest.raises(ConcordAPIError) as caught,
    ):
        client.locks.watch(prefix="p-")
    assert caught.value.code == "PERMISSION_DENIED"


def test_a_stream_the_server_does_not_accept_in_time_times_out() -> None:
    release = threading.Event()
    bound = httpx.Timeout(60, connect=0.3)  # the opening is bounded like a REST stream's
    with FakeServer(hang(release)) as server, _client(server, timeout=bound, max_retries=0) as c:
        try:
            with pytest.raises(APITimeoutError):
                c.locks.watch(prefix="p-")

            async def opening() -> None:
                async with AsyncGrpcConcord(server.target, timeout=bound, max_retries=0) as ac:
                    await ac.locks.watch(prefix="p-")

            with pytest.raises(APITimeoutError):
                asyncio.run(opening())
        finally:
            release.set()
    remaining = server.calls[0].time_remaining
    assert remaining is None or remaining > 3600  # no deadline on the stream itself


def test_raw_response_carries_the_metadata() -> None:
    with FakeServer(reply(_get)) as server, _client(server) as client:
        raw = client.with_raw_response.locks.get("a")
    assert raw.status_code == 200 and raw.http_response is None
    assert raw.parsed.lock is not None and raw.parsed.lock.name == "a"


def test_with_options_shares_the_channel_and_refuses_a_base_url() -> None:
    with FakeServer(reply(_get)) as server, _client(server) as client:
        copy = client.with_options(api_key="k-2", max_retries=0)
        copy.locks.get("a")
        copy.close()  # leaves the shared channel open
        client.locks.get("b")
        with pytest.raises(ValueError, match="base_url"):
            client.with_options(base_url="http://elsewhere")
    assert [c.metadata["x-api-key"] for c in server.calls] == ["k-2", "k-1"]


def test_async_client_calls_and_streams() -> None:
    async def run(target: str) -> tuple[str, list[int]]:
        async with AsyncGrpcConcord(target, api_key="k") as client:
            answer = await client.locks.get("x")
            watch = await client.locks.watch(prefix="q-")
            tokens = [m.lock.fencing_token async for m in watch if m.lock]
        return (answer.lock.name if answer.lock else ""), tokens

    with FakeServer(reply(_get), stream(_events)) as server:
        assert asyncio.run(run(server.target)) == ("x", [1, 2])


def test_cancelling_the_task_cancels_the_call() -> None:
    release = threading.Event()

    async def run(target: str) -> None:
        async with AsyncGrpcConcord(target, api_key="k", max_retries=0) as client:
            task = asyncio.ensure_future(client.locks.get("x"))
            while not server.calls:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    with FakeServer(hang(release)) as server:
        try:
            asyncio.run(run(server.target))
            assert server.calls[0].cancelled.wait(60)
        finally:
            release.set()


def test_grpc_clients_open_no_http_connection_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    for cls in (httpx.Client, httpx.AsyncClient):
        original = cls.__init__

        def record(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            opened.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", record)

    async def run_async(target: str) -> None:
        async with AsyncGrpcConcord(target, api_key="k") as client:
            await client.locks.get("x")
            await client.with_options(max_retries=0).locks.get("y")

    with FakeServer(reply(_get)) as server:
        with _client(server) as client:
            client.locks.get("a")
            client.with_options(max_retries=0).locks.get("b")
        asyncio.run(run_async(server.target))
    assert opened == []
    with httpx.Client() as plain:  # the recorder itself works
        del plain
    assert opened == ["Client"]
