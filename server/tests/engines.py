"""Private Redis, PostgreSQL and etcd processes on free loopback ports, for tests that start,
stop, kill and restart an engine under a live server (the shared ones of scripts/services.sh
serve every other test and are never disturbed).

Each engine runs in its own session, so `kill()` (SIGKILL to the whole process group) is a crash
of every process of the engine at once, and a restart finds the data left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

START_TIMEOUT_SECONDS = 90.0  # generous: the machine may be busy
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_for(what: str, condition: object, timeout: float = START_TIMEOUT_SECONDS) -> None:
    """Polls `condition()` until it is true; fails the test naming `what` after `timeout`."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.1)


def need(binary: str) -> str:
    """The path of an engine binary, or a skip when the machine has none."""
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed (scripts/setup.sh apt installs it)")
    return path


def live_members(group: int) -> list[int]:
    """The processes of a process group that still run (zombies, which a slow init may leave
    behind for a while, do not count)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@dataclass
class Engine(ABC):
    """One engine process: started, checked, stopped or killed; subclasses say how."""

    home: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Where the engine's output goes."""
        return self.home / "engine.log"

    @abstractmethod
    def command(self) -> list[str]:
        """The command line that runs the engine in the foreground."""

    @abstractmethod
    def answers(self) -> bool:
        """Whether the engine serves now."""

    def start(self) -> Engine:
        """Starts the engine and waits until it answers."""
        self.launch(self.command())
        wait_for(f"{type(self).__name__} on port {self.port} to answer", self._up)
        return self

    def launch(self, command: list[str]) -> None:
        """Runs the engine's command in its own session, without waiting."""
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"{type(self).__name__} exited at start:\n{self.log_tail()}")
        return self.answers()

    def kill(self) -> None:
        """Kills every process of the engine at once (SIGKILL), as a crash would."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Stops the engine gracefully (SIGTERM), killing it when it does not end in time."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals, pid: int = 0) -> None:
        """Sends `sig` to process `pid`, or to the whole engine when 0; waits for the end."""
        if self.process is None:
            return
        try:
            if pid:
                os.kill(pid, sig)
            else:
                os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        group = self.process.pid
        try:
            self.process.wait(timeout=START_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait()
        self.process = None
        wait_for(f"{type(self).__name__} processes to end", lambda: not live_members(group))
        wait_for(f"{type(self).__name__} to let go of its port", self._port_free)

    def _port_free(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex((HOST, self.port)) != 0

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the engine's log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Redis(Engine):
    """redis-server with an append-only file, so a restart keeps the data."""

    @property
    def url(self) -> str:
        """The redis:// URL of database 0."""
        return f"redis://{HOST}:{self.port}/0"

    def command(self) -> list[str]:
        """Foreground redis-server on loopback."""
        return [
            need("redis-server"),
            *("--bind", HOST, "--port", str(self.port), "--dir", str(self.home)),
            *("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
            *("--daemonize", "no"),
        ]

    def answers(self) -> bool:
        """PING answers PONG."""
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False


@dataclass
class Etcd(Engine):
    """A one-member etcd cluster whose data folder survives restarts."""

    peer_port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        """The etcd:// URL the server takes."""
        return f"etcd://{HOST}:{self.port}"

    def command(self) -> list[str]:
        """Foreground etcd on loopback."""
        client, peer = f"http://{HOST}:{self.port}", f"http://{HOST}:{self.peer_port}"
        return [
            need("etcd"),
            *("--name", "outage", "--data-dir", str(self.home / "data")),
            *("--listen-client-urls", client, "--advertise-client-urls", client),
            *("--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer),
            *("--initial-cluster", f"outage={peer}"),
        ]

    def answers(self) -> bool:
        """/health says healthy."""
        try:
            health = httpx.get(f"http://{HOST}:{self.port}/health", timeout=2)
        except httpx.HTTPError:
            return False
        return health.status_code == 200 and '"true"' in health.text


def postgres_bindir() -> Path:
    """The folder of initdb and postgres (Debian keeps them off PATH), or a skip."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.insert(0, Path(on_path).resolve().parent)
    for folder in candidates:
        if all((folder / tool).exists() for tool in ("initdb", "postgres", "psql", "pg_isready")):
            return folder
    pytest.skip("PostgreSQL server binaries not found (scripts/setup.sh apt installs them)")


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run as the `postgres` account then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Postgres(Engine):
    """A throwaway cluster (initdb on first start) with database `concord`."""

    @property
    def url(self) -> str:
        """The postgresql:// URL of database `concord`."""
        return f"postgresql://postgres@{HOST}:{self.port}/concord"

    @property
    def data(self) -> Path:
        """The cluster's data folder."""
        return self.home / "data"

    def start(self) -> Engine:
        """Creates the cluster when missing, then starts it and creates the database."""
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        super().start()
        if not getattr(self, "_created", False):
            self._psql("CREATE DATABASE concord")
            self._created = True
        return self

    def _initdb(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
        initdb = [str(postgres_bindir() / "initdb"), "-D", str(self.data), "-A", "trust"]
        initdb += ["-U", "postgres", "-E", "UTF8", "--no-sync"]
        subprocess.run(as_postgres(initdb), check=True, capture_output=True, cwd="/")

    def command(self) -> list[str]:
        """Foreground postgres on loopback (no Unix socket). fsync off: a killed server loses
        nothing the OS has, and commits reach the OS before they are answered."""
        options = [f"listen_addresses={HOST}", "unix_socket_directories=", "fsync=off"]
        options += ["synchronous_commit=on", "full_page_writes=off", "max_connections=100"]
        flags = [part for option in options for part in ("-c", option)]
        postgres = [str(postgres_bindir() / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        return as_postgres([*postgres, *flags])

    def answers(self) -> bool:
        """pg_isready says the server accepts connections."""
        ready = [str(postgres_bindir() / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port)]
        return subprocess.run([*ready, "-U", "postgres"], check=False).returncode == 0

    def _psql(self, sql: str) -> str:
        psql = [str(postgres_bindir() / "psql"), "-h", HOST, "-p", str(self.port), "-U", "postgres"]
        done = subprocess.run([*psql, "-tAc", sql], check=True, capture_output=True, text=True)
        return done.stdout.strip()

    def stop(self) -> None:
        """A fast shutdown (SIGINT to the postmaster): sessions end ("terminating connection due
        to administrator command") and new ones are refused while it shuts down."""
        pid_file = (self.data / "postmaster.pid").read_text().split()
        self._signal(signal.SIGINT, int(pid_file[0]))

    def kill(self) -> None:
        """Kills every process of the cluster at once; the next start recovers from the crash
        ("the database system is starting up" meanwhile)."""
        super().kill()
        # A killed postmaster may linger as a zombie whose pid the lock file still names.
        (self.data / "postmaster.pid").unlink(missing_ok=True)

    def start_standby(self) -> None:
        """Starts the cluster as a standby with hot standby off: it listens, but refuses every
        session ("the database system is not accepting connections", SQLSTATE 57P03, as while
        starting up) until `promote()`."""
        signal_file = self.data / "standby.signal"
        signal_file.touch()
        if os.geteuid() == 0:
            shutil.chown(signal_file, "postgres", "postgres")
        self.launch([*self.command(), "-c", "hot_standby=off"])
        wait_for("the standby to listen", lambda: not self._port_free())
        # It listens a moment before its control file says "in archive recovery", and until
        # then `pg_ctl promote` refuses ("server is not in standby mode").
        wait_for("the standby to enter archive recovery", self._in_archive_recovery)

    def _in_archive_recovery(self) -> bool:
        """pg_controldata says the cluster is a standby in recovery."""
        control = [str(postgres_bindir() / "pg_controldata"), "-D", str(self.data)]
        done = subprocess.run(
            as_postgres(control), check=False, capture_output=True, text=True, cwd="/"
        )
        return "in archive recovery" in done.stdout

    def stop_into_standby(self) -> None:
        """A fast shutdown, then a start that stays "starting up" until `promote()`."""
        self.stop()
        self.start_standby()

    def promote(self) -> None:
        """Ends standby mode: the cluster accepts sessions again."""
        promote = [str(postgres_bindir() / "pg_ctl"), "promote", "-D", str(self.data), "-w"]
        subprocess.run(as_postgres(promote), check=True, capture_output=True, cwd="/")
        wait_for("the promoted cluster to answer", self.answers)

    def crash_a_backend(self) -> None:
        """SIGKILLs one server process; PostgreSQL then ends every session and recovers
        ("the database system is in recovery mode") without a restart from outside."""
        victim = (
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND backend_type IN ('client backend', 'walwriter')"
            " ORDER BY backend_type = 'client backend' DESC LIMIT 1"
        )
        os.kill(int(self._psql(victim)), signal.SIGKILL)


def scratch_home(prefix: str) -> Path:
    """A fresh folder under the system temp folder that the postgres account can enter."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o755)
    return home
