"""Lock acquire/release throughput over REST and gRPC against a live server.

Each figure is reported next to a baseline measured in the same run against the same server:
the liveness probe (no storage, no auth) over the same transport. The ratio says how much of the
transport's ceiling a lock cycle (acquire + release, two round trips) reaches.

    .venv/bin/python bench/bench_locks.py --seconds 5 --concurrency 16 [--locks-url redis://…]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from concord_server._gen.concord.v1 import health_pb2, locks_pb2
from tests.e2e.live import ADMIN_KEY, LiveServer

Op = Callable[[int, int], Awaitable[None]]


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
    """Liveness and lock-cycle throughput over REST."""
    limits = httpx.Limits(max_connections=concurrency)
    headers = {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers) as http:

        async def live(w: int, i: int) -> None:
            (await http.get("/v1/health/live")).raise_for_status()

        async def cycle(w: int, i: int) -> None:
            name = f"bench-{w}"
            body = {"owner": f"w{w}", "ttl": "10s"}
            r = await http.post(f"/v1/locks/{name}:acquire", json=body)
            r.raise_for_status()
            token = r.json()["lock"]["fencing_token"]
            release = {"owner": f"w{w}", "fencing_token": token}
            (
                await http.post(f"/v1/locks/{name}:release", json=release)
            ).raise_for_status()

        await run_for(1.0, concurrency, live)  # warm-up
        return {
            "rest_liveness_per_s": await run_for(seconds, concurrency, live),
            "rest_lock_cycles_per_s": await run_for(seconds, concurrency, cycle),
        }


async def grpc_figures(
    target: str, seconds: float, concurrency: int
) -> dict[str, float]:
    """Liveness and lock-cycle throughput over gRPC."""
    metadata = (("x-api-key", ADMIN_KEY),)
    async with grpc.aio.insecure_channel(target) as channel:
        live_rpc = channel.unary_unary(
            "/concord.v1.HealthService/GetLiveness",
            request_serializer=health_pb2.GetLivenessRequest.SerializeToString,
            response_deserializer=health_pb2.GetLivenessResponse.FromString,
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

        async def live(w: int, i: int) -> None:
            await live_rpc(health_pb2.GetLivenessRequest())

        async def cycle(w: int, i: int) -> None:
            req = locks_pb2.AcquireLockRequest(name=f"gbench-{w}", owner=f"w{w}")
            req.ttl.FromSeconds(10)
            lock = (await acquire(req, metadata=metadata)).lock
            await release(
                locks_pb2.ReleaseLockRequest(
                    name=lock.name, owner=lock.owner, fencing_token=lock.fencing_token
                ),
                metadata=metadata,
            )

        await run_for(1.0, concurrency, live)
        return {
            "grpc_liveness_per_s": await run_for(seconds, concurrency, live),
            "grpc_lock_cycles_per_s": await run_for(seconds, concurrency, cycle),
        }


def main() -> None:
    """Starts a server, measures, prints JSON with figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--locks-url", default="", help="e.g. redis://127.0.0.1:6390/0")
    args = parser.parse_args()
    env = {
        "CONCORD_RATE_LIMIT_PER_SECOND": "1000000",
        "CONCORD_RATE_LIMIT_BURST": "1000000",
    }
    if args.locks_url:
        env["CONCORD_LOCKS_URL"] = (
            args.locks_url + f"?prefix=bench{uuid.uuid4().hex[:6]}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp), env_overrides=env).start()
        try:
            figures = asyncio.run(
                rest_figures(server.base_url, args.seconds, args.concurrency)
            )
            target = f"127.0.0.1:{server.grpc_port}"
            figures |= asyncio.run(grpc_figures(target, args.seconds, args.concurrency))
        finally:
            server.stop()
    figures["rest_cycle_vs_liveness"] = (
        figures["rest_lock_cycles_per_s"] / figures["rest_liveness_per_s"]
    )
    figures["grpc_cycle_vs_liveness"] = (
        figures["grpc_lock_cycles_per_s"] / figures["grpc_liveness_per_s"]
    )
    result = {"locks_url": args.locks_url or "embedded default", **figures}
    print(
        json.dumps(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
