"""CONCORD_WORKERS: N processes sharing the ports on the engines; refused on embedded storage."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import engine_url, isolated
from tests.e2e.live import ADMIN_KEY, READY_TIMEOUT_SECONDS, LiveServer, wait_while_running
from tests.e2e.procfs import ESTABLISHED, LISTENING, children, socket_inodes, tcp_inodes

pytestmark = pytest.mark.slow
CONNECTIONS = 40  # spread by SO_REUSEPORT's hash: all on one of two workers is a 2**-39 chance


def _engines() -> dict[str, str]:
    pg = isolated(engine_url("postgres"), "postgres")
    redis = isolated(engine_url("redis"), "redis")
    return {
        "CONCORD_WORKERS": "2",
        "CONCORD_SHUTDOWN_GRACE_SECONDS": "2",  # the supervisor stops within the harness's wait
        "CONCORD_LOCKS_URL": redis,
        "CONCORD_CACHE_URL": redis,
        "CONCORD_RATELIMIT_URL": redis,
        "CONCORD_IDEMPOTENCY_URL": redis,
        "CONCORD_DISCOVERY_URL": isolated(engine_url("etcd"), "etcd"),
        "CONCORD_EVENTS_URL": pg,
        "CONCORD_SAGAS_URL": pg,
        "CONCORD_RBAC_URL": pg,
    }


def _wait(server: LiveServer, condition: Callable[[], bool], what: str) -> None:
    wait_while_running(
        server.process,
        condition,
        what,
        server.log_tail,
        name="the server",
        timeout=READY_TIMEOUT_SECONDS,
        interval=0.2,
    )


def _serving(client: httpx.Client) -> bool:
    """Whether the worker behind this client's connection has finished starting."""
    return client.get("/v1/health/ready").status_code == 200


def test_two_workers_both_serve(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, env_overrides=_engines()).start()
    assert server.process is not None
    supervisor = server.process.pid
    clients: list[httpx.Client] = []
    try:
        # The second worker starts once the first serves: wait until both listen.
        _wait(server, lambda: len(children(supervisor)) == 2, "the second worker")
        workers = children(supervisor)
        for worker in workers:
            listening = lambda w=worker: bool(  # noqa: E731
                socket_inodes(w) & tcp_inodes(server.http_port, LISTENING)
            )
            _wait(server, listening, f"worker {worker} to listen")
        for i in range(CONNECTIONS):
            client = httpx.Client(base_url=server.base_url, headers={"X-API-Key": ADMIN_KEY})
            clients.append(client)
            _wait(server, functools.partial(_serving, client), "a worker to serve")
            r = client.post(f"/v1/locks/w-{i}:acquire", json={"owner": "o", "ttl": "30s"})
            assert r.status_code == 200, r.text
        established = tcp_inodes(server.http_port, ESTABLISHED)
        served = {w for w in workers if socket_inodes(w) & established}
        assert served == set(workers), (workers, served)
    finally:
        for client in clients:
            client.close()
        _stop_patiently(server)
    # The supervisor stopped every worker before exiting: none is left running.
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and _alive(w)], workers


def test_a_dead_worker_stops_the_others_with_its_status(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, env_overrides=_engines()).start()
    supervisor = server.process
    assert supervisor is not None
    try:
        _wait(server, lambda: len(children(supervisor.pid)) == 2, "the second worker")
        first, second = children(supervisor.pid)
        os.kill(first, signal.SIGKILL)
        # A shell's status for a child killed by SIGKILL: 128 + 9.
        assert supervisor.wait(timeout=READY_TIMEOUT_SECONDS) == 128 + signal.SIGKILL
        assert not _alive(second)
    finally:
        server.stop()


def _stop_patiently(server: LiveServer) -> None:
    """SIGTERM, then waits past the supervisor's own straggler kill (grace + 10 s) before the
    harness's SIGKILL, which would leave the workers orphaned, on however busy a machine."""
    assert server.process is not None
    server.process.terminate()
    try:
        server.process.wait(timeout=READY_TIMEOUT_SECONDS)
    finally:
        server.stop()


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, exited and not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_embedded_storage_refuses_workers(tmp_path: Path) -> None:
    env = dict(os.environ, CONCORD_WORKERS="2", CONCORD_DATA_DIR=str(tmp_path))
    env.pop("CONCORD_LOCKS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "concord_server"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "CONCORD_WORKERS=2 needs every store on a shared engine" in done.stderr
    assert "CONCORD_LOCKS_URL=sqlite://" in done.stderr
