"""The server's resident memory (VmRSS of its process) after load, next to its idle figure:

- after 100,000 lock cycles (acquire + release, every request with an Idempotency-Key of its
  own, every cycle on a lock name of its own; wrk with bench/wrk_keyed_lock_cycle.lua), against
  the issue's budget of 30 MB above idle;
- while 1,000 SSE watches (`GET /v1/locks:watch`) are open and after they are closed: what is
  left after closing, against what they took while open;
- the same for 1,000 WebSocket connections to `/v1/ws`, each with one `WatchLocks` subscription,
  opened after the SSE watches closed (so they first reuse the memory the watches freed).

Once with the embedded default (SQLite locks, in-process idempotency answers) and once with
locks and idempotency answers on Redis when CONCORD_TEST_REDIS_URL (or --redis-url) names one.

    .venv/bin/python bench/bench_memory.py [--cycles 100000] [--watches 1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(BENCH))

from tests.e2e.live import ADMIN_KEY, LiveServer

from benchrows import SERVER_ENV, Row, add_json_argument, write_rows

BUDGET_MB = 30.0  # issue 14: RSS after 100k keyed lock cycles within 30 MB of idle
SETTLE_SECONDS = 3.0


def rss_mb(pid: int) -> float:
    """The process's resident set size (VmRSS of /proc/<pid>/status) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def settled_rss(pid: int) -> float:
    """RSS once it stops moving: the lowest of a few readings over SETTLE_SECONDS."""
    readings = []
    for _ in range(6):
        time.sleep(SETTLE_SECONDS / 6)
        readings.append(rss_mb(pid))
    return min(readings)


def lock_cycles(server: LiveServer, cycles: int) -> None:
    """Runs `cycles` keyed lock cycles on distinct names with wrk."""
    env = dict(
        os.environ,
        CONCORD_BENCH_KEY=ADMIN_KEY,
        CONCORD_BENCH_CYCLES=str(cycles),
    )
    script = str(BENCH / "wrk_keyed_lock_cycle.lua")
    command = ["wrk", "-t", "1", "-c", "16", "-d", "3600s", "-s", script]
    done = subprocess.run(
        [*command, server.base_url],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0 or f"released {cycles} " not in done.stderr:
        raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")


async def open_watches(server: LiveServer, count: int) -> tuple[float, float]:
    """Opens `count` SSE watches at once, then closes them; RSS while open and after."""
    assert server.process is not None
    pid = server.process.pid
    limits = httpx.Limits(max_connections=count + 10)
    headers = {"X-API-Key": ADMIN_KEY}
    timeout = httpx.Timeout(60.0)
    async with (
        httpx.AsyncClient(
            base_url=server.base_url, limits=limits, headers=headers, timeout=timeout
        ) as http,
        AsyncExitStack() as streams,
    ):
        for start in range(0, count, 100):
            opened = [
                streams.enter_async_context(http.stream("GET", "/v1/locks:watch"))
                for _ in range(start, min(count, start + 100))
            ]
            for response in await asyncio.gather(*opened):
                response.raise_for_status()
        while_open = await asyncio.to_thread(settled_rss, pid)
    after = await asyncio.to_thread(settled_rss, pid)
    return while_open, after


async def open_sockets(server: LiveServer, count: int) -> tuple[float, float]:
    """Opens `count` WebSocket connections, each subscribed to lock events, then closes them;
    RSS while open and after."""
    assert server.process is not None
    pid = server.process.pid
    url = server.base_url.replace("http", "ws", 1) + "/v1/ws"
    subscribe = json.dumps({"type": "subscribe", "id": "w", "rpc": "WatchLocks", "request": {}})

    async def subscribed() -> websockets.ClientConnection:
        socket = await websockets.connect(url, additional_headers={"X-API-Key": ADMIN_KEY})
        await socket.send(subscribe)
        while json.loads(await socket.recv())["type"] != "subscribed":
            pass
        return socket

    sockets: list[websockets.ClientConnection] = []
    try:
        for start in range(0, count, 100):
            batch = min(count, start + 100) - start
            sockets += await asyncio.gather(*(subscribed() for _ in range(batch)))
        while_open = await asyncio.to_thread(settled_rss, pid)
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets))
    after = await asyncio.to_thread(settled_rss, pid)
    return while_open, after


def measure(server: LiveServer, args: argparse.Namespace) -> dict[str, float]:
    """Idle RSS, RSS after the lock cycles, and RSS with the watches open and closed."""
    assert server.process is not None
    pid = server.process.pid
    lock_cycles(server, 200)  # warm-up: every code path of a cycle loaded once
    idle = settled_rss(pid)
    started = time.perf_counter()
    lock_cycles(server, args.cycles)
    seconds = time.perf_counter() - started
    after_cycles = settled_rss(pid)
    while_open, after_watches = asyncio.run(open_watches(server, args.watches))
    sockets_open, after_sockets = asyncio.run(open_sockets(server, args.watches))
    return {
        "idle": idle,
        "after_cycles": after_cycles,
        "cycles_per_s": args.cycles / seconds,
        "watches_open": while_open,
        "watches_closed": after_watches,
        "sockets_open": sockets_open,
        "sockets_closed": after_sockets,
    }


def rows(storage: str, args: argparse.Namespace, figures: dict[str, float]) -> list[Row]:
    """Growth after the cycles against the budget; growth left after the watches closed."""
    idle = figures["idle"]
    cycles = f"{args.cycles:,} keyed lock cycles"
    watched = figures["watches_open"] - figures["after_cycles"]
    left = figures["watches_closed"] - figures["after_cycles"]
    return [
        Row(
            f"server RSS growth after {cycles} ({storage}; idle {idle:.1f} MB,"
            f" {figures['cycles_per_s']:,.0f} cycles/s)",
            figures["after_cycles"] - idle,
            "MB",
            "the issue's budget above idle RSS",
            BUDGET_MB,
            goal=1.0,
            better="lower",
        ),
        Row(
            f"server RSS left after closing {args.watches:,} SSE watches ({storage})",
            left,
            "MB",
            f"RSS growth while the {args.watches:,} watches were open",
            watched,
            better="lower",
        ),
        Row(
            f"server RSS left after closing {args.watches:,} WebSocket subscriptions, opened once"
            f" the SSE watches had closed ({storage})",
            figures["sockets_closed"] - figures["watches_closed"],
            "MB",
            f"RSS growth while the {args.watches:,} WebSocket connections were open",
            figures["sockets_open"] - figures["watches_closed"],
            better="lower",
        ),
    ]


def run(storage: str, env: dict[str, str], args: argparse.Namespace) -> list[Row]:
    """Starts a server with `env`, measures it, stops it."""
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp), env_overrides=dict(SERVER_ENV, **env)).start()
        try:
            return rows(storage, args, measure(server, args))
        finally:
            server.stop()


def main() -> None:
    """Measures the embedded default, then Redis when one is configured."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=100_000)
    parser.add_argument("--watches", type=int, default=1_000)
    parser.add_argument("--redis-url", default=os.environ.get("CONCORD_TEST_REDIS_URL", ""))
    add_json_argument(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        write_rows(args.json, [], skipped="wrk is not installed (scripts/setup.sh apt)")
        return
    out = run("embedded", {}, args)
    if args.redis_url:
        sep = "&" if "?" in args.redis_url else "?"
        url = f"{args.redis_url}{sep}prefix=benchmem{uuid.uuid4().hex[:6]}"
        out += run("Redis", {"CONCORD_LOCKS_URL": url, "CONCORD_IDEMPOTENCY_URL": url}, args)
    write_rows(args.json, out)


if __name__ == "__main__":
    main()
