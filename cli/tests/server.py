"""A live Concord server for the CLI tests: the one CONCORD_TEST_BASE_URL names, else one
started here on free loopback ports with embedded storage."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_DEADLINE = 120.0  # seconds; generous for a loaded machine


@dataclass(frozen=True)
class Live:
    """Where the server is and an admin key it accepts."""

    base_url: str
    api_key: str


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(
    url: str, process: subprocess.Popen[bytes] | None, log: Path | None, probe: str = "ready"
) -> None:
    """Until /v1/health/<probe> answers 200; fails if the process exits or the deadline passes."""
    deadline = time.monotonic() + READY_DEADLINE
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-3000:] if log else ""
            raise RuntimeError(f"the test server exited ({process.returncode}):\n{tail}")
        try:
            if httpx.get(f"{url}/v1/health/{probe}", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the test server at {url} was not ready in {READY_DEADLINE}s")


@contextmanager
def live_server() -> Iterator[Live]:
    """The server of CONCORD_TEST_BASE_URL, or a fresh one for this test session."""
    url = os.environ.get("CONCORD_TEST_BASE_URL")
    if url:
        wait_ready(url, None, None)
        yield Live(url, os.environ.get("CONCORD_TEST_API_KEY", "dev-admin-key"))
        return
    with started_server() as server:
        yield server


@contextmanager
def started_server(env: dict[str, str] | None = None, probe: str = "ready") -> Iterator[Live]:
    """A fresh server on free loopback ports, embedded storage unless `env` says otherwise,
    once /v1/health/<probe> answers."""
    with tempfile.TemporaryDirectory(prefix="concord-cli-test-") as data:
        port, key, log = free_port(), "cli-test-admin-key", Path(data) / "server.log"
        env = dict(
            os.environ,
            CONCORD_HTTP_PORT=str(port),
            CONCORD_GRPC_PORT=str(free_port()),
            CONCORD_DATA_DIR=data,
            CONCORD_BOOTSTRAP_ADMIN_KEY=key,
            CONCORD_LOG_LEVEL="WARNING",
            CONCORD_RATE_LIMIT_PER_SECOND="0",
            CONCORD_AUTH_FAILURE_RATE_PER_SECOND="0",
            **(env or {}),
        )
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "concord_server"], env=env, stdout=out, stderr=out
            )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, process, log, probe)
            yield Live(base, key)
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
