"""`CONCORD_WORKERS=N`: N server processes on one machine sharing the HTTP and gRPC ports.

Each worker is a whole server (`python -m concord_server` with CONCORD_WORKERS=1) that binds
both ports with SO_REUSEPORT, so the kernel spreads connections over the workers. The first
worker starts alone and the others follow once it serves, so one-time start-up work (schema,
bootstrap key) never races. This process only supervises: SIGTERM/SIGINT reach every worker,
which drains as a single server does; when a worker dies the others are stopped and the exit
status is the dead worker's, for the orchestrator to restart the whole. A worker still running
10 s after the grace period (CONCORD_SHUTDOWN_GRACE_SECONDS) is killed.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import time
from types import FrameType

from concord_server.config import Settings
from concord_server.config_sources import ConfigError

log = logging.getLogger("concord.workers")
READY_FD_ENV = "CONCORD_WORKER_READY_FD"  # where a worker writes one byte once it serves
FIRST_READY_SECONDS = 300  # then the others start anyway (the engines may be down)
STRAGGLER_SECONDS = 10  # past the grace period, a worker that has not exited is killed
STORE_URLS = (
    "locks_url",
    "events_url",
    "sagas_url",
    "cache_url",
    "discovery_url",
    "rbac_url",
    "ratelimit_url",
    "idempotency_url",
)
EMBEDDED_SCHEMES = ("memory", "sqlite")


def check(settings: Settings) -> None:
    """Raises ConfigError unless N workers can share this configuration."""
    if settings.workers < 2:
        return
    embedded = [
        f"CONCORD_{name.upper()}={getattr(settings, name)}"
        for name in STORE_URLS
        if getattr(settings, name).split("://", 1)[0] in EMBEDDED_SCHEMES
    ]
    if embedded:
        raise ConfigError(
            f"CONCORD_WORKERS={settings.workers} needs every store on a shared engine (redis://,"
            " postgresql://, etcd://); the embedded storage serves one process only, but "
            + ", ".join(embedded)
        )
    if settings.http_port == 0 or settings.grpc_port == 0:
        raise ConfigError(
            f"CONCORD_WORKERS={settings.workers} needs fixed ports: the workers share them "
            "(CONCORD_HTTP_PORT and CONCORD_GRPC_PORT must not be 0)"
        )


def signal_ready() -> None:
    """Tells the supervisor this worker serves (when it asked, through READY_FD_ENV)."""
    fd = os.environ.pop(READY_FD_ENV, "")
    if fd:
        try:
            os.write(int(fd), b"1")
        finally:
            os.close(int(fd))


def _spawn(index: int, ready_fd: int | None) -> subprocess.Popen[bytes]:
    env = dict(os.environ, CONCORD_WORKERS="1", CONCORD_REUSE_PORT="true")
    env["CONCORD_WORKER_INDEX"] = str(index)
    fds: tuple[int, ...] = ()
    if ready_fd is not None:
        env[READY_FD_ENV] = str(ready_fd)
        fds = (ready_fd,)
    # A session of its own: a terminal's Ctrl-C reaches the supervisor only, which passes it on
    # once (a second SIGINT would force the worker out without draining).
    return subprocess.Popen(
        [sys.executable, "-m", "concord_server"], env=env, pass_fds=fds, start_new_session=True
    )


def _wait_first(first: subprocess.Popen[bytes], ready_r: int) -> None:
    """Waits until the first worker serves, exits, or FIRST_READY_SECONDS pass."""
    deadline = time.monotonic() + FIRST_READY_SECONDS
    while first.poll() is None and time.monotonic() < deadline:
        readable, _, _ = select.select([ready_r], [], [], 0.5)
        if readable:
            return


def exit_status(returncode: int) -> int:
    """A child's return code as a shell reports it: 128 + N for a child killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


class Supervisor:
    """The worker processes, started in order and stopped together."""

    def __init__(self, count: int, grace: float) -> None:
        self.count = count
        self.workers: list[subprocess.Popen[bytes]] = []
        self.stopping = False
        self.kill_after = grace + STRAGGLER_SECONDS
        self.deadline = 0.0

    def stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        """Asks every live worker to drain and exit (SIGTERM)."""
        if not self.stopping:
            self.deadline = time.monotonic() + self.kill_after
        self.stopping = True
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Starts the first worker, then the others once it serves; returns the exit status."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        ready_r, ready_w = os.pipe()
        self.workers.append(_spawn(0, ready_w))
        os.close(ready_w)
        _wait_first(self.workers[0], ready_r)
        os.close(ready_r)
        if not self.stopping and self.workers[0].poll() is None:
            self.workers += [_spawn(i, None) for i in range(1, self.count)]
            log.info("serving with %d worker processes", self.count)
        return self._wait()

    def _wait(self) -> int:
        """Waits for every worker; one that exits unasked stops the others and sets the status."""
        status = 0
        while any(w.poll() is None for w in self.workers):
            for worker in self.workers:
                code = worker.poll()
                if code is not None and not self.stopping:
                    log.error("worker %d exited with %d; stopping the others", worker.pid, code)
                    status = exit_status(code) or 1
                    self.stop()
            if self.stopping and time.monotonic() > self.deadline:
                self._kill_stragglers()
            time.sleep(0.2)
        codes = (exit_status(w.returncode) for w in self.workers if w.returncode)
        return status or next(codes, 0)

    def _kill_stragglers(self) -> None:
        """Kills the workers still running well past the grace period (SIGKILL)."""
        for worker in self.workers:
            if worker.poll() is None:
                log.error("worker %d did not exit within the grace period; killing it", worker.pid)
                worker.kill()
