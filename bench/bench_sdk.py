"""What the SDKs cost their callers: lock cycles (AcquireLock, then ReleaseLock with the granted
token) through the Python SDK against raw httpx, and through the Go SDK against raw net/http,
sending the same requests (the same JSON bodies and headers, a fresh Idempotency-Key on each as
the SDKs send), one connection, closed loop, in alternating rounds of the same run against one
server (medians reported). Two figures per SDK: the request rate, and the client process's CPU
time per request (the SDK's own work, which the rate hides behind the server's).

    .venv/bin/python bench/bench_sdk.py [--seconds 4] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench"))

from concord import Concord
from tests.e2e.live import ADMIN_KEY, LiveServer

from benchrows import SERVER_ENV, Row, add_json_argument, go_tool, write_rows

Cycle = Callable[[str], None]


def sdk_cycle(client: Concord) -> Cycle:
    """One lock cycle through the Python SDK."""
    ttl = timedelta(seconds=10)

    def cycle(name: str) -> None:
        got = client.locks.acquire(name, owner="w", ttl=ttl)
        assert got.lock is not None
        client.locks.release(name, owner="w", fencing_token=got.lock.fencing_token)

    return cycle


def raw_cycle(http: httpx.Client) -> Cycle:
    """The same requests through httpx, parsed with json as the SDK's answers are."""

    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
        answer = http.post(path, content=json.dumps(body), headers=headers)
        answer.raise_for_status()
        data: dict[str, object] = answer.json()
        return data

    def cycle(name: str) -> None:
        got = post(f"/v1/locks/{name}:acquire", {"owner": "w", "ttl": "10s"})
        token = got["lock"]["fencing_token"]  # type: ignore[index]
        post(f"/v1/locks/{name}:release", {"owner": "w", "fencing_token": token})

    return cycle


def python_figures(cycle: Cycle, seconds: float) -> dict[str, float]:
    """Requests per second and this process's CPU time per request, in microseconds."""
    name = f"sdkbench-{uuid.uuid4().hex[:8]}"
    for _ in range(20):  # warm-up: the connection
        cycle(name)
    cpu, start, requests = time.process_time(), time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        cycle(name)
        requests += 2
    elapsed = time.perf_counter() - start
    return {"rate": requests / elapsed, "cpu_us": (time.process_time() - cpu) / requests * 1e6}


def go_figures(binary: Path, base_url: str, mode: str, seconds: float) -> dict[str, float]:
    """The same two figures from bench/sdkload (`mode` sdk or raw)."""
    cmd = [str(binary), f"-base-url={base_url}", f"-api-key={ADMIN_KEY}", f"-mode={mode}"]
    cmd.append(f"-seconds={seconds}")
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def measure(args: argparse.Namespace, server: LiveServer) -> dict[str, list[dict[str, float]]]:
    """Each client once per round, the raw one and its SDK taking turns."""
    go = go_tool("sdkload")
    samples: dict[str, list[dict[str, float]]] = {}
    headers = {"X-API-Key": ADMIN_KEY}
    with (
        httpx.Client(base_url=server.base_url, headers=headers) as http,
        Concord(base_url=server.base_url, api_key=ADMIN_KEY) as client,
    ):
        for _ in range(args.rounds):
            samples.setdefault("py-raw", []).append(python_figures(raw_cycle(http), args.seconds))
            samples.setdefault("py-sdk", []).append(python_figures(sdk_cycle(client), args.seconds))
            if go is None:
                continue
            for mode in ("raw", "sdk"):
                figures = go_figures(go, server.base_url, mode, args.seconds)
                samples.setdefault(f"go-{mode}", []).append(figures)
    return samples


def rows(samples: dict[str, list[dict[str, float]]]) -> list[Row]:
    """Per SDK measured: its rate against the raw client's, and its CPU per request."""

    def median(key: str, figure: str) -> float:
        return statistics.median(s[figure] for s in samples[key])

    out: list[Row] = []
    for sdk, raw in (("Python", "httpx"), ("Go", "net/http")):
        key = sdk[:2].lower()
        if f"{key}-sdk" not in samples:
            continue
        what = f"{sdk} SDK lock request (acquire/release, 1 connection, closed loop)"
        baseline = f"raw {raw} sending the same requests"
        out.append(
            Row(
                what,
                median(f"{key}-sdk", "rate"),
                "requests/s",
                baseline,
                median(f"{key}-raw", "rate"),
            )
        )
        out.append(
            Row(
                f"{sdk} SDK client CPU per lock request",
                median(f"{key}-sdk", "cpu_us"),
                "µs",
                baseline,
                median(f"{key}-raw", "cpu_us"),
                better="lower",
            )
        )
    return out


def main() -> None:
    """Starts a server (embedded storage), measures, writes the rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    add_json_argument(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp), env_overrides=SERVER_ENV).start()
        try:
            samples = measure(args, server)
        finally:
            server.stop()
    write_rows(args.json, rows(samples))


if __name__ == "__main__":
    main()
