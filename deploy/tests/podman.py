"""Runs the server image in podman containers on the host's network for the image tests."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ADMIN_KEY = "deploy-test-admin-key"
READY_TIMEOUT_SECONDS = 120.0  # generous: the machine may be busy
STOP_TIMEOUT_SECONDS = 60
CONF = Path(__file__).resolve().parents[2] / "scripts" / "deploy" / "containers.conf"


def podman(
    *args: str, check: bool = True, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Runs podman with the project's containers.conf (unless CONTAINERS_CONF is set)."""
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(CONF))
    done = subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Volume:
    """A named podman volume for the data folder, removed by `remove`."""

    name: str = field(default_factory=lambda: f"concord-test-{uuid.uuid4().hex[:10]}")

    def create(self) -> Volume:
        """Creates the volume."""
        podman("volume", "create", self.name)
        return self

    def remove(self) -> None:
        """Removes the volume (its containers are gone by then)."""
        podman("volume", "rm", "--force", self.name, check=False)


@dataclass
class Container:
    """One server container: --read-only, host network, data on a named volume."""

    image: str
    volume: Volume
    env: dict[str, str] = field(default_factory=dict)
    mounts: dict[str, str] = field(default_factory=dict)  # host folder -> read-only in it
    tls: ssl.SSLContext | None = None  # how to reach it when it serves TLS
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    name: str = field(default_factory=lambda: f"concord-test-{uuid.uuid4().hex[:10]}")

    @property
    def base_url(self) -> str:
        """The REST base URL on the host."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.http_port}"

    def start(self) -> Container:
        """Starts the container and waits until readiness answers 200."""
        env = {
            "CONCORD_HTTP_PORT": str(self.http_port),
            "CONCORD_GRPC_PORT": str(self.grpc_port),
            "CONCORD_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
            "CONCORD_JWT_SECRET": "deploy-test-jwt-secret-0123456789abcdef",
            **self.env,
        }
        flags = [f"--env={k}={v}" for k, v in env.items()]
        flags += [f"--volume={host}:{inside}:ro" for host, inside in self.mounts.items()]
        podman(
            "run", "--detach", "--name", self.name, "--network", "host", "--read-only",
            "--volume", f"{self.volume.name}:/var/lib/concord", *flags, self.image,
        )  # fmt: skip
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.state().get("Status") not in ("running", "created", "configured"):
                raise RuntimeError(f"container exited early:\n{self.logs()}")
            try:
                ready = httpx.get(
                    self.base_url + "/v1/health/ready", timeout=2, verify=self.tls or True
                )
                if ready.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"not ready in {READY_TIMEOUT_SECONDS}s:\n{self.logs()}")

    def state(self) -> dict[str, object]:
        """podman's State of the container (Status, ExitCode, ...)."""
        out = podman("inspect", "--format", "{{json .State}}", self.name).stdout
        state: dict[str, object] = json.loads(out)
        return state

    def logs(self) -> str:
        """Everything the server wrote."""
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Runs a command in the container (not checked)."""
        return podman("exec", self.name, *command, check=False)

    def stop(self) -> int:
        """Stops it with SIGTERM (the image's stop signal); returns the exit code."""
        podman(
            "stop",
            "--time",
            str(STOP_TIMEOUT_SECONDS),
            self.name,
            timeout=STOP_TIMEOUT_SECONDS + 60,
        )
        code = self.state().get("ExitCode")
        assert isinstance(code, int)
        return code

    def remove(self) -> None:
        """Removes the container, running or not."""
        podman("rm", "--force", "--time", "5", self.name, check=False)

    def client(self) -> httpx.Client:
        """A REST client with the bootstrap admin key."""
        return httpx.Client(
            base_url=self.base_url,
            headers={"X-API-Key": ADMIN_KEY},
            timeout=30,
            verify=self.tls or True,
        )
