"""The scaling curve of `CONCORD_WORKERS`: lock requests over REST (wrk) and gRPC (the Go
client, one HTTP/2 connection per loop so the kernel spreads them over the workers) against
servers with 1, 2, ... worker processes, every store on the engines (workers need them), in
alternating rounds; each figure next to the 1-worker server's from the same rounds. With daprd
built (bench/dapr), also the server with as many workers as the machine has cores against
Dapr's lock API on the same Redis: both then use every core.

Needs Redis, PostgreSQL and etcd (CONCORD_TEST_REDIS_URL, CONCORD_TEST_POSTGRES_URL,
CONCORD_TEST_ETCD_URL; `make bench` starts them) and wrk; skipped, with the reason, without.

    .venv/bin/python bench/bench_workers.py [--workers 1,2,3] [--seconds 4] [--rounds 3]
        [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from tests.e2e.live import LiveServer
from tests.e2e.procfs import LISTENING, children, socket_inodes, tcp_inodes

from bench_locks import dapr_peer, dapr_resources, daprd, grpc_rates_go, wrk_with_cpu
from benchrows import SERVER_ENV, Row, add_json_argument, go_tool, write_rows

ENGINE_ENV = {
    "redis": "CONCORD_TEST_REDIS_URL",
    "postgres": "CONCORD_TEST_POSTGRES_URL",
    "etcd": "CONCORD_TEST_ETCD_URL",
}
STORES = {  # each store's URL variable, and the engine it goes on
    "CONCORD_LOCKS_URL": "redis",
    "CONCORD_CACHE_URL": "redis",
    "CONCORD_RATELIMIT_URL": "redis",
    "CONCORD_IDEMPOTENCY_URL": "redis",
    "CONCORD_DISCOVERY_URL": "etcd",
    "CONCORD_EVENTS_URL": "postgres",
    "CONCORD_SAGAS_URL": "postgres",
    "CONCORD_RBAC_URL": "postgres",
}
READY_SECONDS = 120.0


def store_env(engines: dict[str, str]) -> dict[str, str]:
    """Every store on its engine, under a namespace of this run's own."""
    tag = f"wb{uuid.uuid4().hex[:6]}"
    env = {}
    for variable, engine in STORES.items():
        url = engines[engine]
        sep = "&" if "?" in url else "?"
        env[variable] = f"{url}{sep}{'schema' if engine == 'postgres' else 'prefix'}={tag}"
    return env


def server_pids(server: LiveServer) -> list[int]:
    """The server's process and its workers (a supervisor's children)."""
    assert server.process is not None
    return [server.process.pid, *children(server.process.pid)]


def serving_workers(server: LiveServer) -> int:
    """How many of the server's processes listen on both its ports (the process itself when it
    is a single worker, else the supervisor's children)."""
    assert server.process is not None
    pids = children(server.process.pid) or [server.process.pid]
    http = tcp_inodes(server.http_port, LISTENING)
    grpc = tcp_inodes(server.grpc_port, LISTENING)
    return sum(1 for p in pids if socket_inodes(p) & http and socket_inodes(p) & grpc)


def start(directory: Path, workers: int, env: dict[str, str]) -> LiveServer:
    """A server of `workers` processes, returned once every one of them listens."""
    env = {**SERVER_ENV, **env, "CONCORD_WORKERS": str(workers)}
    server = LiveServer(directory, env_overrides=env).start()
    deadline = time.monotonic() + READY_SECONDS
    while serving_workers(server) < workers:
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"not every one of {workers} workers listens:\n{server.log_tail()}")
        time.sleep(0.2)
    return server


def measure(args: argparse.Namespace, servers: dict[int, LiveServer]) -> dict[str, list[float]]:
    """Each server's REST and gRPC lock rates once per round, the servers taking turns."""
    rates: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for n, server in servers.items():
            rest = wrk_with_cpu(
                server_pids(server),
                server.base_url,
                args.seconds,
                args.connections,
                "wrk_lock_cycle.lua",
            )
            rates.setdefault(f"rest_{n}", []).append(rest.per_second)
            rates.setdefault(f"rest_cpu_us_{n}", []).append(rest.cpu_us)
            target = f"127.0.0.1:{server.grpc_port}"
            loops = args.concurrency
            grpc = grpc_rates_go(args.grpc_client, target, args.seconds, loops, loops)
            rates.setdefault(f"grpc_{n}", []).append(grpc["locks"])
        if args.dapr is not None:
            dapr = wrk_with_cpu(
                [args.dapr.pid],
                args.dapr.url,
                args.seconds,
                args.connections,
                "wrk_dapr_lock_cycle.lua",
            )
            rates.setdefault("dapr", []).append(dapr.per_second)
            rates.setdefault("dapr_cpu_us", []).append(dapr.cpu_us)
    return rates


def rows(rates: dict[str, list[float]], counts: list[int], cores: int) -> list[Row]:
    """One row per worker count and transport against 1 worker, and the Dapr row."""
    m = {key: statistics.median(values) for key, values in rates.items()}
    out = []
    for n in counts[1:]:
        for key, what in (("rest", "REST (wrk)"), ("grpc", "gRPC (Go client)")):
            out.append(
                Row(
                    f"Lock requests on Redis, {n} workers, {what}",
                    m[f"{key}_{n}"],
                    "requests/s",
                    "1 worker, the same stores on the engines",
                    m[f"{key}_1"],
                )
            )
    if "dapr" in m and f"rest_{cores}" in m:
        out.append(
            Row(
                f"REST lock request on Redis, {cores} workers (1 per core) vs Dapr lock API (wrk)",
                m[f"rest_{cores}"],
                "requests/s",
                "Dapr lock API on the same Redis (daprd-lock, wrk, lock/unlock)",
                m["dapr"],
                goal=0.5,
            )
        )
        out.append(
            Row(
                f"Server CPU per REST lock request on Redis, {cores} workers, vs Dapr lock API",
                m[f"rest_cpu_us_{cores}"],
                "µs",
                "daprd-lock's CPU per lock request, same rounds",
                m["dapr_cpu_us"],
                better="lower",
            )
        )
    return out


def reason_to_skip(engines: dict[str, str], grpc_client: Path | None, counts: list[int]) -> str:
    """Why nothing can be measured ('' when everything is there)."""
    missing = [ENGINE_ENV[name] for name, url in engines.items() if not url]
    if missing:
        return f"needs every engine: {', '.join(missing)} not set"
    if shutil.which("wrk") is None:
        return "wrk is not installed (scripts/setup.sh apt)"
    if grpc_client is None:
        return "needs Go for bench/grpcload"
    if counts[0] != 1:
        return "--workers must start with 1 (the baseline)"
    return ""


def main() -> None:
    """Starts one server per worker count (and daprd), measures, writes the rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1,2,3", help="worker counts, 1 first")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--concurrency", type=int, default=16, help="gRPC client loops")
    add_json_argument(parser)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    engines = {name: os.environ.get(variable, "") for name, variable in ENGINE_ENV.items()}
    args.grpc_client = go_tool("grpcload")
    why = reason_to_skip(engines, args.grpc_client, counts)
    if why:
        write_rows(args.json, [], skipped=why)
        return
    binary, skipped = dapr_peer(engines["redis"])
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        args.dapr = None
        if binary is not None:
            resources = dapr_resources(Path(tmp), engines["redis"])
            args.dapr = stack.enter_context(daprd(binary, resources))
        servers = {}
        for n in counts:
            folder = Path(tmp) / f"workers-{n}"
            folder.mkdir()
            servers[n] = start(folder, n, store_env(engines))
            stack.callback(stop, servers[n])
        rates = measure(args, servers)
    write_rows(args.json, rows(rates, counts, os.cpu_count() or 1), skipped=skipped)


def stop(server: LiveServer) -> None:
    """SIGTERM, then waits for the supervisor to drain its workers, before the harness's stop."""
    assert server.process is not None
    server.process.terminate()
    try:
        server.process.wait(timeout=60)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
