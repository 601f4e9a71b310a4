"""`python -m concord_server.healthcheck`, the image's HEALTHCHECK, against a live server."""

from __future__ import annotations

import os
import subprocess
import sys

from concord_server.config import Settings
from concord_server.healthcheck import check, live_url, probe_host
from tests.e2e.live import LiveServer, free_port


def _run(port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONCORD_HTTP_HOST": "0.0.0.0", "CONCORD_HTTP_PORT": str(port)}
    return subprocess.run(
        [sys.executable, "-m", "concord_server.healthcheck"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_live_server_is_healthy(live_server: LiveServer) -> None:
    done = _run(live_server.http_port)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "live"


def test_nothing_listening_is_unhealthy() -> None:
    port = free_port()
    done = _run(port)
    assert done.returncode == 1
    assert f"127.0.0.1:{port}/v1/health/live" in done.stderr
    assert check(Settings(http_port=port)) is not None


def test_probe_address_follows_the_bind_address() -> None:
    assert probe_host("0.0.0.0") == "127.0.0.1"
    assert probe_host("::") == "[::1]"
    assert probe_host("10.1.2.3") == "10.1.2.3"
    assert live_url(Settings(http_host="::1", http_port=1)) == "http://[::1]:1/v1/health/live"
