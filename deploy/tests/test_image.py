"""The server image, run by podman: metadata, the embedded default, and replicas on the engines."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.conftest import engine_url, isolated
from tests.podman import ADMIN_KEY, Container, Volume, podman

CHART = Path(__file__).resolve().parents[1] / "helm" / "concord"
SMOKE_TEST = CHART / "files"
CERTS_TOOL = Path(__file__).resolve().parents[1] / "tools" / "certs.py"


def _backends(container: Container) -> dict[str, str]:
    """Readiness: component name -> backend, after checking every one serves."""
    answer = httpx.get(container.base_url + "/v1/health/ready", timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "SERVING"
    assert all(c["status"] == "SERVING" for c in body["components"]), body
    return {c["name"]: c["backend"] for c in body["components"]}


def _acquire(client: httpx.Client, name: str, owner: str) -> httpx.Response:
    return client.post(f"/v1/locks/{name}:acquire", json={"owner": owner, "ttl": "60s"})


def _grpc_health(container: Container) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{container.grpc_port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(), timeout=30)
    return int(answer.status)


def _helm_test(
    image: str, server: Container, scheme: str = "http"
) -> subprocess.CompletedProcess[str]:
    """The chart's `helm test` script, run as its pod runs it: in the image, read-only."""
    url = server.base_url.replace("http:", f"{scheme}:")
    return podman(
        "run", "--rm", "--network", "host", "--read-only",
        "--volume", f"{SMOKE_TEST}:/smoke:ro", "--entrypoint", "python3",
        "--env", f"CONCORD_URL={url}", "--env", f"CONCORD_API_KEY={ADMIN_KEY}",
        image, "/smoke/smoke_test.py",
        check=False,
    )  # fmt: skip


def _notes_try_it(server: Container, *values: Path, ca: Path | None = None) -> dict[str, Any]:
    """Runs the curl line of the chart's NOTES (release rel, namespace default) against `server`,
    as a user does after the port-forward (port 8080 there is the container's port here)."""
    helm = os.environ.get("CONCORD_HELM", "")
    args = [helm, "install", "rel", str(CHART), "--dry-run=client", "-n", "default"]
    for file in values:
        args += ["-f", str(file)]
    notes = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    lines = [ln.strip() for ln in notes.split("NOTES:")[1].splitlines()]
    [line] = [ln for ln in lines if ln.startswith("curl ")]
    line = line.replace(":8080", f":{server.http_port}")
    if ca is not None:
        line = line.replace("--cacert ca.crt", f"--cacert {ca}")
    env = {**os.environ, "CONCORD_API_KEY": ADMIN_KEY}
    done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, f"{line}\n{done.stderr}"
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_image_metadata(image: str) -> None:
    """Non-root user, entry point, ports, health check, stop signal and OCI labels."""
    [inspected] = json.loads(podman("image", "inspect", image).stdout)
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["python3", "-m", "concord_server"]
    assert {"8080/tcp", "9090/tcp"} <= set(config["ExposedPorts"])
    assert config["StopSignal"] == "SIGTERM"
    assert "/var/lib/concord" in config["Volumes"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "concord-server"
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.version"]
    assert "concord_server.healthcheck" in inspected["Healthcheck"]["Test"]


@pytest.fixture
def volume() -> Iterator[Volume]:
    """A fresh data volume."""
    vol = Volume().create()
    try:
        yield vol
    finally:
        vol.remove()


def test_embedded_default(image: str, volume: Volume) -> None:
    """No configuration: SQLite and memory, read-only root, non-root, every endpoint answers,
    SIGTERM exits cleanly, and fencing tokens survive a new container on the same volume."""
    first = Container(image, volume)
    try:
        first.start()
        backends = _backends(first)
        assert set(backends.values()) <= {"sqlite", "memory"}, backends
        assert backends["locks"] == "sqlite"
        with first.client() as client:
            granted = _acquire(client, "deploy-nightly", "worker-1")
            assert granted.status_code == 200, granted.text
            assert granted.json()["lock"]["fencing_token"] == 1
            release = {"owner": "worker-1", "fencing_token": 1}
            assert client.post("/v1/locks/deploy-nightly:release", json=release).status_code == 200
            metrics = client.get("/metrics").text
            assert (
                'concord_rpc_calls_total{code="OK",rpc="AcquireLock",transport="rest"}' in metrics
            )
            assert client.get("/docs/assets/swagger-ui.css").status_code == 200
            assert client.get("/graphiql/assets/graphiql/graphiql.min.js").status_code == 200
            assert client.get("/openapi.json").json()["info"]["title"]
        assert _grpc_health(first) == health_pb2.HealthCheckResponse.SERVING
        assert first.exec("id", "-u").stdout.strip() == "10001"
        assert first.exec("touch", "/opt/concord/x").returncode != 0  # read-only root
        check = podman("healthcheck", "run", first.name, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        smoke = _helm_test(image, first)
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        assert smoke.stdout.count("ok  ") == 5, smoke.stdout
        assert _notes_try_it(first)["lock"]["owner"] == "me"
        assert first.stop() == 0, first.logs()
        assert "shutdown complete" in first.logs()
    finally:
        first.remove()
    second = Container(image, volume)
    try:
        second.start()
        with second.client() as client:
            again = _acquire(client, "deploy-nightly", "worker-2")
            assert again.status_code == 200, again.text
            assert again.json()["lock"]["fencing_token"] == 2
    finally:
        second.remove()


def _engine_env(lock_engine: str) -> dict[str, str]:
    """Every capability on a shared engine (no SQLite): what N replicas need."""
    redis = isolated(engine_url("redis"), "redis")
    pg = isolated(engine_url("postgres"), "postgres")
    locks = redis if lock_engine == "redis" else pg
    return {
        "CONCORD_LOCKS_URL": locks,
        "CONCORD_EVENTS_URL": pg,
        "CONCORD_SAGAS_URL": pg,
        "CONCORD_RBAC_URL": pg,
        "CONCORD_CACHE_URL": redis,
        "CONCORD_RATELIMIT_URL": redis,
        "CONCORD_IDEMPOTENCY_URL": redis,
        "CONCORD_DISCOVERY_URL": isolated(engine_url("etcd"), "etcd"),
        "CONCORD_PAGE_TOKEN_SECRET": "deploy-test-page-token-secret-0123456789",
    }


@pytest.mark.parametrize("lock_engine", ["redis", "postgres"])
def test_replicas_on_engines(image: str, lock_engine: str) -> None:
    """Two containers on Redis, PostgreSQL and etcd: one lock, one fencing order, shared
    discovery, and the engines named by readiness."""
    env = _engine_env(lock_engine)
    volumes = [Volume().create(), Volume().create()]
    replicas = [Container(image, v, env=env) for v in volumes]
    lock = f"deploy-{uuid.uuid4().hex[:8]}"
    try:
        for replica in replicas:
            replica.start()
            backends = _backends(replica)
            assert "sqlite" not in backends.values(), backends
            assert backends["locks"] == ("redis" if lock_engine == "redis" else "postgresql")
            assert backends["discovery"] == "etcd"
        a, b = (r.client() for r in replicas)
        with a, b:
            first = _acquire(a, lock, "a")
            assert first.status_code == 200, first.text
            token = first.json()["lock"]["fencing_token"]
            conflict = _acquire(b, lock, "b")
            assert conflict.status_code == 409
            assert conflict.json()["code"] == "LOCK_CONFLICT"
            release = {"owner": "a", "fencing_token": token}
            assert a.post(f"/v1/locks/{lock}:release", json=release).status_code == 200
            second = _acquire(b, lock, "b")
            assert second.status_code == 200, second.text
            assert second.json()["lock"]["fencing_token"] > token
            instance = {"address": "10.0.0.1", "port": 80}
            assert a.put("/v1/services/deploy/instances/i-1", json=instance).status_code == 200
            listed = b.get("/v1/services/deploy/instances").json()
            assert [i["instance_id"] for i in listed["instances"]] == ["i-1"]
            assert 'rpc="AcquireLock"' in b.get("/metrics").text
        for replica in replicas:
            assert replica.stop() == 0, replica.logs()
    finally:
        for replica in replicas:
            replica.remove()
        for v in volumes:
            v.remove()


def test_tls_as_the_chart_mounts_it(image: str, volume: Volume, tmp_path: Path) -> None:
    """Certificates where the chart puts them: HTTPS, gRPC mutual TLS, the health check and
    `helm test` over HTTPS."""
    certs, secret, client_ca = tmp_path / "certs", tmp_path / "tls", tmp_path / "client-ca"
    subprocess.run([sys.executable, str(CERTS_TOOL), str(certs)], check=True, timeout=60)
    secret.mkdir()
    client_ca.mkdir()
    shutil.copy(certs / "server.pem", secret / "tls.crt")  # the kubernetes.io/tls keys
    shutil.copy(certs / "server-key.pem", secret / "tls.key")
    shutil.copy(certs / "ca.pem", client_ca / "ca.crt")
    tls = {  # what the chart's ConfigMap sets with tls.enabled and tls.clientCA
        "CONCORD_TLS_CERT_FILE": "/etc/concord/tls/tls.crt",
        "CONCORD_TLS_KEY_FILE": "/etc/concord/tls/tls.key",
        "CONCORD_TLS_CLIENT_CA_FILE": "/etc/concord/client-ca/ca.crt",
        "CONCORD_TLS_HTTP_CLIENT_AUTH": "optional",
    }
    mounts = {str(secret): "/etc/concord/tls", str(client_ca): "/etc/concord/client-ca"}
    context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    server = Container(image, volume, env=tls, mounts=mounts, tls=context)
    try:
        server.start()
        with server.client() as client:
            assert client.get("/v1/health/live").json()["status"] == "SERVING"
        assert podman("healthcheck", "run", server.name, check=False).returncode == 0
        smoke = _helm_test(image, server, "https")
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        tls_values = CHART / "ci" / "autoscaling-tls-values.yaml"
        assert _notes_try_it(server, tls_values, ca=certs / "ca.pem")["lock"]["owner"] == "me"
        pair = {
            "private_key": (certs / "client-key.pem").read_bytes(),
            "certificate_chain": (certs / "client.pem").read_bytes(),
        }
        root = (certs / "ca.pem").read_bytes()
        with grpc.secure_channel(
            f"localhost:{server.grpc_port}", grpc.ssl_channel_credentials(root, **pair)
        ) as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=30
            )
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.remove()
