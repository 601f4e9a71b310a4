"""TLS on REST and gRPC with certificates made at test time; gRPC mutual TLS; REST client
certificates when asked; refused configurations; the health check over TLS."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.live import LiveServer

pytestmark = pytest.mark.slow
CERTS_TOOL = Path(__file__).resolve().parents[3] / "deploy" / "tools" / "certs.py"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA with server and client certificates, and another CA with its own client."""
    folder = tmp_path_factory.mktemp("certs")
    subprocess.run([sys.executable, str(CERTS_TOOL), str(folder)], check=True, timeout=60)
    return folder


def _context(certs: Path, client: str | None = None, ca: str = "ca") -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs / f"{ca}.pem"))
    if client is not None:
        context.load_cert_chain(certs / f"{client}.pem", certs / f"{client}-key.pem")
    return context


def _env(certs: Path, **extra: str) -> dict[str, str]:
    return {
        "CONCORD_TLS_CERT_FILE": str(certs / "server.pem"),
        "CONCORD_TLS_KEY_FILE": str(certs / "server-key.pem"),
        **extra,
    }


def _server(tmp: Path, certs: Path, client: str | None, **extra: str) -> Iterator[LiveServer]:
    server = LiveServer(tmp / "data", _env(certs, **extra), tls=_context(certs, client)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, certs: Path) -> Iterator[LiveServer]:
    """TLS on both ports, no client certificates (one server for the module's tests)."""
    yield from _server(tmp_path_factory.mktemp("tls"), certs, None)


@pytest.fixture(scope="module")
def mtls_server(tmp_path_factory: pytest.TempPathFactory, certs: Path) -> Iterator[LiveServer]:
    """TLS, gRPC requiring client certificates of the test CA, REST requiring them too."""
    ca = str(certs / "ca.pem")
    extra = {"CONCORD_TLS_CLIENT_CA_FILE": ca, "CONCORD_TLS_HTTP_CLIENT_AUTH": "require"}
    yield from _server(tmp_path_factory.mktemp("mtls"), certs, "client", **extra)


def _grpc_health(port: int, credentials: grpc.ChannelCredentials | None) -> int:
    target = f"localhost:{port}"
    channel = (
        grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    )
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=20).status)


def _credentials(certs: Path, client: str | None = None) -> grpc.ChannelCredentials:
    pair = {}
    if client is not None:
        pair = {
            "private_key": (certs / f"{client}-key.pem").read_bytes(),
            "certificate_chain": (certs / f"{client}.pem").read_bytes(),
        }
    return grpc.ssl_channel_credentials((certs / "ca.pem").read_bytes(), **pair)


def test_rest_and_grpc_serve_tls(tls_server: LiveServer, certs: Path) -> None:
    with tls_server.client() as client:
        answer = client.post("/v1/locks/tls-1:acquire", json={"owner": "o", "ttl": "30s"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["lock"]["fencing_token"] >= 1
    serving = health_pb2.HealthCheckResponse.SERVING
    assert _grpc_health(tls_server.grpc_port, _credentials(certs)) == serving


def test_plain_text_and_unknown_authorities_are_refused(
    tls_server: LiveServer, certs: Path
) -> None:
    plain = tls_server.base_url.replace("https:", "http:")
    with pytest.raises(httpx.HTTPError):
        httpx.get(plain + "/v1/health/live", timeout=10)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(tls_server.base_url + "/v1/health/live", verify=_context(certs, ca="other-ca"))
    with pytest.raises(grpc.RpcError) as failed:
        _grpc_health(tls_server.grpc_port, None)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE


def test_grpc_mutual_tls(mtls_server: LiveServer, certs: Path) -> None:
    serving = health_pb2.HealthCheckResponse.SERVING
    assert _grpc_health(mtls_server.grpc_port, _credentials(certs, "client")) == serving
    for refused in (None, "other-client"):
        with pytest.raises(grpc.RpcError) as failed:
            _grpc_health(mtls_server.grpc_port, _credentials(certs, refused))
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE


def test_rest_client_certificates_when_required(mtls_server: LiveServer, certs: Path) -> None:
    url = mtls_server.base_url + "/v1/health/live"
    assert httpx.get(url, verify=_context(certs, "client"), timeout=20).status_code == 200
    for refused in (None, "other-client"):
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, verify=_context(certs, refused), timeout=20).raise_for_status()


def test_optional_client_certificates(tmp_path: Path, certs: Path) -> None:
    extra = {
        "CONCORD_TLS_CLIENT_CA_FILE": str(certs / "ca.pem"),
        "CONCORD_TLS_HTTP_CLIENT_AUTH": "optional",
    }
    for server in _server(tmp_path, certs, None, **extra):
        url = server.base_url + "/v1/health/live"
        assert httpx.get(url, verify=_context(certs), timeout=20).status_code == 200
        assert httpx.get(url, verify=_context(certs, "client"), timeout=20).status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, verify=_context(certs, "other-client"), timeout=20).raise_for_status()


def _start_fails(tmp_path: Path, env: dict[str, str]) -> str:
    """Runs the server with `env` and returns its error output; it must exit with code 2."""
    full = {**os.environ, "CONCORD_DATA_DIR": str(tmp_path), "CONCORD_GRPC_PORT": "-1", **env}
    done = subprocess.run(
        [sys.executable, "-m", "concord_server"],
        env=full, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    return done.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CONCORD_TLS_CERT_FILE": "x.pem"}, "go together"),
        ({"CONCORD_TLS_CLIENT_CA_FILE": "ca.pem"}, "needs CONCORD_TLS_CERT_FILE"),
        ({"CONCORD_TLS_HTTP_CLIENT_AUTH": "always"}, "must be one of none, optional, require"),
    ],
)
def test_inconsistent_settings_stop_the_start(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    assert message in _start_fails(tmp_path, env)


def test_unreadable_or_mismatched_files_stop_the_start(tmp_path: Path, certs: Path) -> None:
    missing = _env(certs, CONCORD_TLS_KEY_FILE=str(tmp_path / "nope.pem"))
    assert "cannot use the TLS certificate" in _start_fails(tmp_path, missing)
    mismatched = _env(certs, CONCORD_TLS_KEY_FILE=str(certs / "client-key.pem"))
    assert "cannot use the TLS certificate" in _start_fails(tmp_path, mismatched)
    bad_ca = _env(certs, CONCORD_TLS_CLIENT_CA_FILE=str(certs / "server-key.pem"))
    assert "cannot read the client CA file" in _start_fails(tmp_path, bad_ca)


def _healthcheck(server: LiveServer, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "CONCORD_HTTP_PORT": str(server.http_port), **env}
    return subprocess.run(
        [sys.executable, "-m", "concord_server.healthcheck"],
        env=full, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_healthcheck_over_tls(tls_server: LiveServer, mtls_server: LiveServer, certs: Path) -> None:
    done = _healthcheck(tls_server, _env(certs))
    assert (done.returncode, done.stdout.strip()) == (0, "live"), done.stderr
    required = _env(
        certs,
        CONCORD_TLS_CLIENT_CA_FILE=str(certs / "ca.pem"),
        CONCORD_TLS_HTTP_CLIENT_AUTH="require",
    )
    assert _healthcheck(mtls_server, required).returncode == 0
