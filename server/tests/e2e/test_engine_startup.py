"""A server started while its engine is down (issue 7, finding 4): it starts rather than exits,
reports not-ready over HTTP and over the standard gRPC health service, answers calls with a
retryable UNAVAILABLE, retries the engine in the background and serves once it is up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from concord_server._gen.concord.v1 import locks_pb2
from tests.e2e.live import ADMIN_KEY, LiveServer
from tests.engines import Redis, wait_for

GRPC_AUTH = (("x-api-key", ADMIN_KEY),)
ACQUIRE = {"owner": "starter", "ttl": "30s"}


def grpc_health(server: LiveServer, service: str = "") -> int:
    """The standard health status of the whole server ("") or of one service."""
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=30)
    return int(answer.status)


def grpc_acquire(server: LiveServer) -> grpc.StatusCode:
    """AcquireLock over gRPC; its status code."""
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        acquire = channel.unary_unary(
            "/concord.v1.LockService/AcquireLock",
            request_serializer=locks_pb2.AcquireLockRequest.SerializeToString,
            response_deserializer=locks_pb2.AcquireLockResponse.FromString,
        )
        request = locks_pb2.AcquireLockRequest(name="grpc-starter", owner="starter")
        request.ttl.FromSeconds(30)
        try:
            acquire(request, metadata=GRPC_AUTH, timeout=30)
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    """A private Redis that the test starts when it wants (stopped at the end)."""
    engine = Redis(tmp_path / "redis")
    try:
        yield engine
    finally:
        engine.stop()


def test_a_server_started_while_redis_is_down_serves_once_redis_is_up(
    tmp_path: Path, redis: Redis
) -> None:
    overrides = {
        "CONCORD_LOCKS_URL": redis.url + "?prefix=startup",
        "CONCORD_CACHE_URL": redis.url + "?prefix=startup",
    }
    server = LiveServer(tmp_path / "data", overrides).launch()
    try:
        server.wait_for("/v1/health/live")
        with server.client() as http:
            ready = http.get("/v1/health/ready")
            assert ready.status_code == 503, ready.text
            body = ready.json()
            assert body["status"] == "NOT_SERVING"
            pending = {c["name"]: c for c in body["components"] if c["status"] == "NOT_SERVING"}
            assert set(pending) == {"locks", "cache"}, body
            assert pending["locks"]["backend"] == "redis"
            assert str(redis.port) not in ready.text and "127.0.0.1" not in ready.text
            refused = http.post("/v1/locks/starter:acquire", json=ACQUIRE)
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "UNAVAILABLE"
            assert refused.headers["retry-after"] == "1"
        assert grpc_health(server) == health_pb2.HealthCheckResponse.NOT_SERVING
        not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
        assert grpc_health(server, "concord.v1.LockService") == not_serving
        assert grpc_acquire(server) == grpc.StatusCode.UNAVAILABLE

        redis.start()
        server.wait_for("/v1/health/ready")
        serving = health_pb2.HealthCheckResponse.SERVING
        wait_for("gRPC health SERVING", lambda: grpc_health(server) == serving)
        with server.client() as http:
            granted = http.post("/v1/locks/starter:acquire", json=ACQUIRE)
            assert granted.status_code == 200, granted.text
            assert granted.json()["lock"]["fencing_token"] >= 1
        assert grpc_acquire(server) == grpc.StatusCode.OK
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    assert "Application startup failed" not in log
    assert "Traceback" not in log, log[-3000:]
