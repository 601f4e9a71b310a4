"""Runs real server processes (`python -m concord_server`) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ADMIN_KEY = "e2e-admin-key"
READY_TIMEOUT_SECONDS = 90.0  # generous: the machine may be busy


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_while_running(
    process: subprocess.Popen[bytes] | None,
    condition: Callable[[], bool],
    what: str,
    log_tail: Callable[[], str],
    *,
    name: str,
    timeout: float,
    interval: float,
) -> None:
    """Polls `condition` until it holds while `process` runs; fails with the log tail when the
    process exits first or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process is not None
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log_tail()}")
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}:\n{log_tail()}")


@dataclass
class LiveServer:
    """One server process with its ports, environment and log file."""

    data_dir: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # With TLS (CONCORD_TLS_* in env_overrides): how this harness reaches it.
    tls: ssl.SSLContext | None = None

    @property
    def base_url(self) -> str:
        """The REST base URL."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        """Where the process writes its stderr."""
        return self.data_dir / f"server-{self.http_port}.log"

    def environment(self) -> dict[str, str]:
        """The process environment: ports, data folder, admin key, test hooks, overrides."""
        env = dict(os.environ)
        env.update(
            CONCORD_HTTP_PORT=str(self.http_port),
            CONCORD_GRPC_PORT=str(self.grpc_port),
            CONCORD_DATA_DIR=str(self.data_dir),
            CONCORD_BOOTSTRAP_ADMIN_KEY=ADMIN_KEY,
            CONCORD_TEST_HOOKS="true",
            CONCORD_JWT_SECRET="e2e-jwt-secret-0123456789abcdef0123456789",
            CONCORD_LOG_LEVEL="INFO",
        )
        env.update(self.env_overrides)
        return env

    def start(self) -> LiveServer:
        """Starts the process and waits until readiness answers 200."""
        self.launch()
        self.wait_for("/v1/health/ready")
        return self

    def launch(self) -> LiveServer:
        """Starts the process without waiting for anything."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "concord_server"],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_for(self, probe: str, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Waits until the health probe (`/v1/health/live` or `/v1/health/ready`) answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_tail()}")
            try:
                ready = httpx.get(self.base_url + probe, timeout=5, verify=self.tls or True)
                if ready.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{probe} not 200 within {timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """Kills the process at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stops the process gracefully (SIGTERM), killing it if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def client(self) -> httpx.Client:
        """A REST client authenticated with the bootstrap admin key."""
        return httpx.Client(
            base_url=self.base_url,
            headers={"X-API-Key": ADMIN_KEY},
            timeout=30,
            verify=self.tls or True,
        )
