"""Lock acquire/release throughput over REST and gRPC against a live server, each next to its
transport's baseline measured in the same run, in alternating rounds (medians reported):

- REST: wrk (a C load generator) runs lock cycles (bench/wrk_lock_cycle.lua) against the server
  and POSTs the acquire body to a bare ASGI JSON echo (bench/echo_asgi.py) served by uvicorn with
  the server's settings;
- gRPC: a Go closed-loop client (bench/grpcload, built into .scratch/bin when Go is there; else
  a grpc.aio client, which saturates first) runs lock cycles and the standard
  `grpc.health.v1.Health/Check` of the same server;
- Dapr: with locks on Redis, the same REST lock cycle against Dapr's lock API on the same Redis
  (daprd with only the Redis lock store, built by bench/dapr/build.sh into .scratch/bin; wrk with
  bench/wrk_dapr_lock_cycle.lua), in the same rounds; that row is skipped, with the reason, when
  daprd cannot be built or the locks are not on Redis.

Locks live on Redis when CONCORD_TEST_REDIS_URL (or --locks-url) names one (`make bench` starts
it), else on the embedded default. A cycle is two requests (acquire, release); the ratios compare
requests with requests.

    .venv/bin/python bench/bench_locks.py [--seconds 5] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import grpc
import httpx
from grpc_health.v1 import health_pb2

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT / "server"))

from concord_server._gen.concord.v1 import locks_pb2
from tests.e2e.live import ADMIN_KEY, LiveServer, free_port

from benchrows import SERVER_ENV, Row, add_json_argument, cpu_seconds, go_tool, write_rows

Op = Callable[[int, int], Awaitable[None]]


class Rate(NamedTuple):
    """Requests per second, and a process's CPU microseconds per request meanwhile."""

    per_second: float
    cpu_us: float


async def run_for(seconds: float, concurrency: int, op: Op) -> float:
    """Runs `op(worker, i)` in `concurrency` loops for `seconds`; returns operations per second."""
    deadline = time.perf_counter() + seconds
    counts = [0] * concurrency

    async def worker(w: int) -> None:
        while time.perf_counter() < deadline:
            await op(w, counts[w])
            counts[w] += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return sum(counts) / (time.perf_counter() - start)


async def rest_figures(base: str, seconds: float, concurrency: int) -> dict[str, float]:
    """Liveness and lock-cycle throughput over REST with an httpx client (bench_tracing.py)."""
    limits = httpx.Limits(max_connections=concurrency)
    headers = {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers) as http:

        async def live(w: int, i: int) -> None:
            (await http.get("/v1/health/live")).raise_for_status()

        async def cycle(w: int, i: int) -> None:
            name = f"bench-{w}"
            r = await http.post(f"/v1/locks/{name}:acquire", json={"owner": f"w{w}", "ttl": "10s"})
            r.raise_for_status()
            release = {
                "owner": f"w{w}",
                "fencing_token": r.json()["lock"]["fencing_token"],
            }
            (await http.post(f"/v1/locks/{name}:release", json=release)).raise_for_status()

        await run_for(1.0, concurrency, live)  # warm-up
        return {
            "rest_liveness_per_s": await run_for(seconds, concurrency, live),
            "rest_lock_cycles_per_s": await run_for(seconds, concurrency, cycle),
        }


def wrk_seconds(seconds: float) -> int:
    """How long wrk runs for `seconds`: whole seconds, at least one."""
    return max(1, round(seconds))


def wrk(url: str, seconds: float, connections: int, script: str) -> float:
    """Requests per second wrk reaches (one thread); fails on errors wrk reports."""
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{wrk_seconds(seconds)}s",
        "-s",
        str(BENCH / script),
        url,
    ]
    env = dict(os.environ, CONCORD_BENCH_KEY=ADMIN_KEY)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    if "Non-2xx" in out or "unexpected status" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"no rate in wrk's output:\n{out}")
    return float(match.group(1))


async def grpc_rates(target: str, seconds: float, concurrency: int) -> dict[str, float]:
    """Health-check and lock-request throughput over gRPC (requests per second)."""
    metadata = (("x-api-key", ADMIN_KEY),)
    prefix = f"gbench-{uuid.uuid4().hex[:8]}"
    async with grpc.aio.insecure_channel(target) as channel:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        acquire = channel.unary_unary(
            "/concord.v1.LockService/AcquireLock",
            request_serializer=locks_pb2.AcquireLockRequest.SerializeToString,
            response_deserializer=locks_pb2.AcquireLockResponse.FromString,
        )
        release = channel.unary_unary(
            "/concord.v1.LockService/ReleaseLock",
            request_serializer=locks_pb2.ReleaseLockRequest.SerializeToString,
            response_deserializer=locks_pb2.ReleaseLockResponse.FromString,
        )

        async def health(w: int, i: int) -> None:
            await check(health_pb2.HealthCheckRequest())

        async def cycle(w: int, i: int) -> None:
            req = locks_pb2.AcquireLockRequest(name=f"{prefix}-{w}", owner=f"w{w}")
            req.ttl.FromSeconds(10)
            lock = (await acquire(req, metadata=metadata)).lock
            done = locks_pb2.ReleaseLockRequest(
                name=lock.name, owner=lock.owner, fencing_token=lock.fencing_token
            )
            await release(done, metadata=metadata)

        await run_for(1.0, concurrency, health)
        return {
            "health": await run_for(seconds, concurrency, health),
            "locks": 2 * await run_for(seconds, concurrency, cycle),
        }


def grpc_rates_go(
    binary: Path, target: str, seconds: float, concurrency: int, connections: int = 1
) -> dict[str, float]:
    """Health-check and lock-request rates from the Go client (requests per second), its
    `concurrency` loops taking turns over `connections` HTTP/2 connections."""
    prefix = f"gbench-{uuid.uuid4().hex[:8]}"
    lines = []
    for w in range(concurrency):
        acquire = locks_pb2.AcquireLockRequest(name=f"{prefix}-{w}", owner=f"w{w}")
        acquire.ttl.FromSeconds(10)
        release = locks_pb2.ReleaseLockRequest(name=f"{prefix}-{w}", owner=f"w{w}")
        lines.append(f"{acquire.SerializeToString().hex()} {release.SerializeToString().hex()}")
    cmd = [
        str(binary),
        f"-target={target}",
        f"-seconds={seconds}",
        f"-api-key={ADMIN_KEY}",
        f"-connections={connections}",
    ]
    done = subprocess.run(cmd, input="\n".join(lines), capture_output=True, text=True, check=True)
    rates: dict[str, float] = json.loads(done.stdout)
    return rates


@contextmanager
def echo_server() -> Iterator[str]:
    """The bare ASGI JSON echo (bench/echo_asgi.py) on a free port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(BENCH / "echo_asgi.py"), str(port)])
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def daprd_binary() -> tuple[Path | None, str]:
    """bench/dapr/build.sh's daprd-lock (built when bench/dapr changed), or None and why not."""
    done = subprocess.run(
        ["bash", str(BENCH / "dapr/build.sh")],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["bench/dapr/build.sh failed"]
        return None, lines[-1]
    return Path(done.stdout.strip().splitlines()[-1]), ""


def dapr_resources(directory: Path, redis_url: str) -> Path:
    """The Redis lock store's component YAML with the bench's Redis host, in `directory`."""
    parts = urlsplit(redis_url)
    host = f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"
    text = (
        (BENCH / "dapr/lockstore.yaml").read_text().replace("value: REDIS_HOST", f"value: {host}")
    )
    text = text.replace('value: ""', f'value: "{parts.password or ""}"')
    resources = directory / "dapr-resources"
    resources.mkdir()
    (resources / "lockstore.yaml").write_text(text)
    return resources


class Daprd(NamedTuple):
    """A running daprd-lock: its HTTP base URL and process id."""

    url: str
    pid: int


@contextmanager
def daprd(binary: Path, resources: Path) -> Iterator[Daprd]:
    """daprd-lock standalone (no app, no placement) on free ports."""
    http_port = free_port()
    cmd = [str(binary), "--app-id", "bench", "--mode", "standalone"]
    cmd += ["--dapr-http-port", str(http_port), "--dapr-grpc-port", str(free_port())]
    cmd += ["--dapr-internal-grpc-port", str(free_port()), "--enable-metrics=false"]
    cmd += ["--resources-path", str(resources), "--log-level", "warn"]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{http_port}"
        wait_for_dapr(url, process)
        yield Daprd(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for_dapr(url: str, process: subprocess.Popen[bytes]) -> None:
    """Waits until daprd answers a lock on the store; raises when it exits or never does."""
    body = {"resourceId": f"probe-{uuid.uuid4().hex}", "lockOwner": "bench"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            answer = httpx.post(
                f"{url}/v1.0-alpha1/lock/lockstore",
                json={**body, "expiryInSeconds": 5},
                timeout=2,
            )
            if answer.status_code == 200 and answer.json().get("success") is True:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"daprd-lock did not serve locks at {url}")


def wrk_with_cpu(
    pids: Sequence[int], url: str, seconds: float, connections: int, script: str
) -> Rate:
    """wrk's rate, and the CPU microseconds the processes `pids` spent per request meanwhile."""
    before = sum(cpu_seconds(pid) for pid in pids)
    rate = wrk(url, seconds, connections, script)
    spent = sum(cpu_seconds(pid) for pid in pids) - before
    return Rate(rate, 1e6 * spent / (rate * wrk_seconds(seconds)))


def measure(args: argparse.Namespace, server: LiveServer, echo: str) -> dict[str, list[float]]:
    """Each figure once per round, the baseline and the lock figure taking turns."""
    rates: dict[str, list[float]] = {}
    target = f"127.0.0.1:{server.grpc_port}"
    assert server.process is not None
    for _ in range(args.rounds):
        sec, conns = args.seconds, args.connections
        rates.setdefault("echo", []).append(wrk(echo, sec, conns, "wrk_echo.lua"))
        live = wrk(f"{server.base_url}/v1/health/live", sec, conns, "wrk_get.lua")
        rates.setdefault("live", []).append(live)
        locks = wrk_with_cpu(
            [server.process.pid], server.base_url, sec, conns, "wrk_lock_cycle.lua"
        )
        rates.setdefault("rest", []).append(locks.per_second)
        rates.setdefault("rest_cpu_us", []).append(locks.cpu_us)
        if args.dapr is not None:
            dapr = wrk_with_cpu(
                [args.dapr.pid], args.dapr.url, sec, conns, "wrk_dapr_lock_cycle.lua"
            )
            rates.setdefault("dapr", []).append(dapr.per_second)
            rates.setdefault("dapr_cpu_us", []).append(dapr.cpu_us)
        if args.grpc_client is not None:
            figures = grpc_rates_go(args.grpc_client, target, sec, args.concurrency)
        else:
            figures = asyncio.run(grpc_rates(target, sec, args.concurrency))
        for key, value in figures.items():
            rates.setdefault(f"grpc_{key}", []).append(value)
    return rates


def rows(rates: dict[str, list[float]], storage: str, client: str) -> list[Row]:
    """The schema's rows from the medians of the rounds."""
    m = {key: statistics.median(values) for key, values in rates.items()}
    return [
        Row(
            f"REST lock request on {storage} (wrk, acquire/release)",
            m["rest"],
            "requests/s",
            "bare ASGI JSON echo (wrk, same uvicorn settings)",
            m["echo"],
            goal=0.5,
        ),
        Row(
            "REST liveness probe (wrk; the server's HTTP stack without storage or auth)",
            m["live"],
            "requests/s",
            "bare ASGI JSON echo (wrk, same uvicorn settings)",
            m["echo"],
        ),
        Row(
            f"gRPC lock request on {storage} ({client}, acquire/release)",
            m["grpc_locks"],
            "requests/s",
            "gRPC health check (grpc.health.v1.Health/Check, same server)",
            m["grpc_health"],
            goal=0.6,
        ),
        *dapr_rows(m),
    ]


def dapr_rows(m: dict[str, float]) -> list[Row]:
    """Concord's REST lock requests against Dapr's lock API on the same Redis, when measured."""
    if "dapr" not in m:
        return []
    return [
        Row(
            "REST lock request on Redis vs Dapr lock API (wrk)",
            m["rest"],
            "requests/s",
            "Dapr lock API on the same Redis (daprd-lock, wrk, lock/unlock)",
            m["dapr"],
            goal=0.5,
        ),
        Row(
            "Server CPU per REST lock request on Redis, one process, vs Dapr lock API",
            m["rest_cpu_us"],
            "µs",
            "daprd-lock's CPU per lock request, same wrk run (both cores, Go)",
            m["dapr_cpu_us"],
            better="lower",
        ),
    ]


def main() -> None:
    """Starts the echo and a server, measures, writes the rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--concurrency", type=int, default=16, help="gRPC client loops")
    parser.add_argument("--locks-url", default=os.environ.get("CONCORD_TEST_REDIS_URL", ""))
    parser.add_argument("--python-grpc-client", action="store_true", help="not the Go one")
    add_json_argument(parser)
    args = parser.parse_args()
    args.grpc_client = None if args.python_grpc_client else go_tool("grpcload")
    if shutil.which("wrk") is None:
        write_rows(args.json, [], skipped="wrk is not installed (scripts/setup.sh apt)")
        return
    env = dict(SERVER_ENV)
    storage = "embedded SQLite"
    if args.locks_url:
        sep = "&" if "?" in args.locks_url else "?"
        env["CONCORD_LOCKS_URL"] = f"{args.locks_url}{sep}prefix=bench{uuid.uuid4().hex[:6]}"
        storage = "Redis"
    binary, skipped = dapr_peer(args.locks_url)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        echo = stack.enter_context(echo_server())
        args.dapr = None
        if binary is not None:
            resources = dapr_resources(Path(tmp), args.locks_url)
            args.dapr = stack.enter_context(daprd(binary, resources))
        server = LiveServer(Path(tmp), env_overrides=env).start()
        try:
            rates = measure(args, server, echo)
        finally:
            server.stop()
    client = "Go client" if args.grpc_client is not None else "grpc.aio client"
    write_rows(args.json, rows(rates, storage, client), skipped=skipped)


def dapr_peer(locks_url: str) -> tuple[Path | None, str]:
    """The daprd-lock binary, or None and why the Dapr row is skipped."""
    if not locks_url.startswith(("redis://", "rediss://")):
        return (
            None,
            "Dapr lock API row skipped: locks are not on Redis (CONCORD_TEST_REDIS_URL)",
        )
    binary, why = daprd_binary()
    if binary is None:
        return None, f"Dapr lock API row skipped: {why}"
    return binary, ""


if __name__ == "__main__":
    main()
