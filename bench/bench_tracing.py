"""The cost of tracing: lock acquire+release cycles over REST against two servers in the same
run, one with tracing off and one exporting every span over OTLP to a real OpenTelemetry
Collector (scripts/otelcol.sh build), in alternating rounds so that machine drift hits both.
Besides the rates (which other work on the machine moves), it reports the CPU time each server
process spent per call, read from /proc, which that other work hardly moves.

    .venv/bin/python bench/bench_tracing.py --seconds 5 --concurrency 16 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench"))

from tests.e2e.collector import Collector, collector_binary
from tests.e2e.live import LiveServer

from bench_locks import rest_figures
from benchrows import Row, add_json_argument, cpu_seconds, write_rows

UNLIMITED = {
    "CONCORD_RATE_LIMIT_PER_SECOND": "1000000",
    "CONCORD_RATE_LIMIT_BURST": "1000000",
}


def server_cpu_seconds(server: LiveServer) -> float:
    """CPU time the server process has used so far."""
    assert server.process is not None
    return cpu_seconds(server.process.pid)


def measure(
    servers: dict[str, LiveServer], rounds: int, seconds: float, conc: int
) -> dict[str, list[float]]:
    """Lock-cycle and liveness rates of each server, round after round."""
    rates: dict[str, list[float]] = {}
    for _round in range(rounds):
        for name, server in servers.items():
            cpu = server_cpu_seconds(server)
            figures = asyncio.run(rest_figures(server.base_url, seconds, conc))
            cpu = server_cpu_seconds(server) - cpu
            calls = (1 + seconds) * figures["rest_liveness_per_s"]  # warm-up + liveness
            calls += 2 * seconds * figures["rest_lock_cycles_per_s"]  # acquire + release
            rates.setdefault(f"{name}_server_cpu_ms_per_call", []).append(1000 * cpu / calls)
            rates.setdefault(f"{name}_lock_cycles_per_s", []).append(
                figures["rest_lock_cycles_per_s"]
            )
            rates.setdefault(f"{name}_liveness_per_s", []).append(figures["rest_liveness_per_s"])
    return rates


def rows(rates: dict[str, list[float]], spans: int) -> list[Row]:
    """The schema's rows: tracing on against tracing off, means of the rounds."""
    mean = {k: sum(v) / len(v) for k, v in rates.items()}
    base = "the same server with tracing off"
    return [
        Row(
            f"REST lock cycles with every span exported ({spans} spans)",
            mean["on_lock_cycles_per_s"],
            "cycles/s",
            base,
            mean["off_lock_cycles_per_s"],
        ),
        Row(
            "server CPU per REST call with every span exported",
            mean["on_server_cpu_ms_per_call"],
            "ms",
            base,
            mean["off_server_cpu_ms_per_call"],
            better="lower",
        ),
    ]


def main() -> None:
    """Starts a collector and both servers, measures, writes the rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    add_json_argument(parser)
    args = parser.parse_args()
    try:
        collector_binary()
    except pytest.skip.Exception:
        write_rows(args.json, [], skipped="no collector (scripts/setup.sh otelcol)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        collector = Collector(Path(tmp) / "otelcol").start()
        traced_env = {**UNLIMITED, "CONCORD_OTLP_ENDPOINT": collector.endpoint}
        servers = {
            "off": LiveServer(Path(tmp) / "off", env_overrides=dict(UNLIMITED)),
            "on": LiveServer(Path(tmp) / "on", env_overrides=traced_env),
        }
        try:
            for server in servers.values():
                server.start()
            rates = measure(servers, args.rounds, args.seconds, args.concurrency)
            spans = len(collector.spans())
        finally:
            for server in servers.values():
                server.stop()
            collector.stop()
    write_rows(args.json, rows(rates, spans))


if __name__ == "__main__":
    main()
