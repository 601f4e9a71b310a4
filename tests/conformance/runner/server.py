"""Starts `python -m concord_server` for a run: free ports, a temp data dir, chosen storage."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from tests.conformance.runner.adapter import clean_env
from tests.conformance.runner.model import ConformanceError

STORAGES = ("embedded", "engines")
ENGINE_VARS = ("CONCORD_TEST_REDIS_URL", "CONCORD_TEST_POSTGRES_URL", "CONCORD_TEST_ETCD_URL")
# The shared server must never throttle the suite itself; rate-limit cases get their own.
# Every adapter calls from 127.0.0.1, so the per-address failed-authentication guard is raised
# too (the cases that refuse credentials would otherwise drain it for everyone).
GENEROUS_LIMITS = {
    "CONCORD_RATE_LIMIT_PER_SECOND": "100000",
    "CONCORD_RATE_LIMIT_BURST": "100000",
    "CONCORD_AUTH_FAILURE_RATE_PER_SECOND": "100000",
    "CONCORD_AUTH_FAILURE_BURST": "100000",
}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_option(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{name}={value}"


def storage_env(storage: str, tag: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The CONCORD_*_URL settings of a storage mode; `engines` names isolated prefixes/schemas."""
    if storage == "embedded":
        return {}
    if storage != "engines":
        raise ConformanceError(f"--storage must be one of {STORAGES}, not {storage!r}")
    env = os.environ if environ is None else environ
    missing = [name for name in ENGINE_VARS if not env.get(name)]
    if missing:
        raise ConformanceError(
            f"--storage engines needs {', '.join(missing)} (start them: make services-up; "
            'then eval "$(scripts/services.sh env)")'
        )
    redis, pg, etcd = (env[name] for name in ENGINE_VARS)
    return {
        "CONCORD_LOCKS_URL": _with_option(redis, "prefix", f"{tag}-locks"),
        "CONCORD_CACHE_URL": _with_option(redis, "prefix", f"{tag}-cache"),
        "CONCORD_RATELIMIT_URL": _with_option(redis, "prefix", f"{tag}-rl"),
        "CONCORD_EVENTS_URL": _with_option(pg, "schema", f"{tag}_events"),
        "CONCORD_SAGAS_URL": _with_option(pg, "schema", f"{tag}_sagas"),
        "CONCORD_RBAC_URL": _with_option(pg, "schema", f"{tag}_rbac"),
        "CONCORD_DISCOVERY_URL": _with_option(etcd, "prefix", f"/{tag}"),
    }


@dataclass(frozen=True)
class ServerOptions:
    """What every started server shares."""

    python: str
    storage: str
    admin_key: str
    log_dir: Path
    startup_timeout: float = 90.0


class ManagedServer:
    """One server process owned by the runner; `stop` ends it and removes its data."""

    def __init__(self, options: ServerOptions, extra_env: Mapping[str, str], name: str) -> None:
        self.options = options
        self.name = name
        self.tag = "conf" + secrets.token_hex(4)
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"concord-conformance-{name}-"))
        self.env = {
            **clean_env(),
            **GENEROUS_LIMITS,
            **storage_env(options.storage, self.tag),
            "CONCORD_BOOTSTRAP_ADMIN_KEY": options.admin_key,
            "CONCORD_TEST_HOOKS": "true",
            "CONCORD_HTTP_HOST": "127.0.0.1",
            "CONCORD_HTTP_PORT": str(self.http_port),
            "CONCORD_GRPC_PORT": str(self.grpc_port),
            "CONCORD_DATA_DIR": str(self.data_dir),
            "CONCORD_LOG_LEVEL": "WARNING",
            **extra_env,
        }
        options.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = options.log_dir / f"server-{name}.log"
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The server's REST base URL."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        """The server's gRPC target (`host:port`)."""
        return f"127.0.0.1:{self.grpc_port}"

    def start(self) -> str:
        """Starts the process and waits until it is ready; returns the base URL."""
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [self.options.python, "-m", "concord_server"],
            cwd=self.data_dir,  # no stray .env file is read from here
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self.base_url

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.options.startup_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                self.stop()
                raise ConformanceError(
                    f"server {self.name} exited with {self._proc.returncode} during startup:\n"
                    + _tail(self.log_path)
                )
            try:
                response = httpx.get(f"{self.base_url}/v1/health/ready", timeout=2.0)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.2)
        self.stop()
        raise ConformanceError(
            f"server {self.name} not ready in time ({last}):\n" + _tail(self.log_path)
        )

    def stop(self) -> None:
        """Terminates the process (SIGTERM, then SIGKILL) and removes the data dir."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
