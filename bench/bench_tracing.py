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
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_locks import rest_figures
from tests.e2e.collector import Collector
from tests.e2e.live import LiveServer

UNLIMITED = {
    "CONCORD_RATE_LIMIT_PER_SECOND": "1000000",
    "CONCORD_RATE_LIMIT_BURST": "1000000",
}


def cpu_seconds(server: LiveServer) -> float:
    """CPU time (user + system) the server process has used so far, from /proc."""
    assert server.process is not None
    fields = (
        Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    )
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    servers: dict[str, LiveServer], rounds: int, seconds: float, conc: int
) -> dict[str, list[float]]:
    """Lock-cycle and liveness rates of each server, round after round."""
    rates: dict[str, list[float]] = {}
    for _round in range(rounds):
        for name, server in servers.items():
            cpu = cpu_seconds(server)
            figures = asyncio.run(rest_figures(server.base_url, seconds, conc))
            cpu = cpu_seconds(server) - cpu
            calls = (1 + seconds) * figures["rest_liveness_per_s"]  # warm-up + liveness
            calls += (
                2 * seconds * figures["rest_lock_cycles_per_s"]
            )  # acquire + release
            rates.setdefault(f"{name}_server_cpu_ms_per_call", []).append(
                1000 * cpu / calls
            )
            rates.setdefault(f"{name}_lock_cycles_per_s", []).append(
                figures["rest_lock_cycles_per_s"]
            )
            rates.setdefault(f"{name}_liveness_per_s", []).append(
                figures["rest_liveness_per_s"]
            )
    return rates


def main() -> None:
    """Starts a collector and both servers, measures, prints JSON with means and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
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
    means = {k: sum(v) / len(v) for k, v in rates.items()}
    result: dict[str, object] = {k: round(v, 3) for k, v in means.items()}
    result["lock_cycles_on_vs_off"] = round(
        means["on_lock_cycles_per_s"] / means["off_lock_cycles_per_s"], 3
    )
    result["liveness_on_vs_off"] = round(
        means["on_liveness_per_s"] / means["off_liveness_per_s"], 3
    )
    result["server_cpu_per_call_on_vs_off"] = round(
        means["on_server_cpu_ms_per_call"] / means["off_server_cpu_ms_per_call"], 3
    )
    result["spans_exported"] = spans
    result["rounds"] = {k: [round(x, 3) for x in v] for k, v in rates.items()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
