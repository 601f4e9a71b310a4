"""What each package of the fast stack buys: REST lock requests (wrk, bench/wrk_lock_cycle.lua)
against servers that differ only in one package being hidden (uvloop, httptools, hiredis,
orjson: the server falls back to asyncio, h11, redis-py's pool and parser, the stdlib json), and one
with all four hidden, in alternating rounds of the same run (medians reported).

A package is hidden by a folder early on PYTHONPATH whose module of that name raises
ImportError, which is what the server sees where the package does not install.

    .venv/bin/python bench/bench_stack.py [--seconds 5] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench"))

from tests.e2e.live import LiveServer

from bench_locks import wrk
from benchrows import SERVER_ENV, Row, add_json_argument, write_rows

PACKAGES = ("uvloop", "httptools", "hiredis", "orjson")
NONE = "none of them"


def hiding(folder: Path, packages: tuple[str, ...]) -> str:
    """A PYTHONPATH entry under which importing each package raises ImportError."""
    folder.mkdir(parents=True)
    for name in packages:
        (folder / f"{name}.py").write_text(
            f'raise ModuleNotFoundError("{name} hidden by bench_stack")\n'
        )
    return os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)


def servers(tmp: Path, locks_url: str) -> dict[str, LiveServer]:
    """One server with everything, one without each package, one without any."""
    variants: dict[str, tuple[str, ...]] = {"all": ()}
    variants |= {name: (name,) for name in PACKAGES}
    variants[NONE] = PACKAGES
    out = {}
    for label, hidden in variants.items():
        env = dict(SERVER_ENV, PYTHONPATH=hiding(tmp / "hide" / label.replace(" ", "-"), hidden))
        if locks_url:
            sep = "&" if "?" in locks_url else "?"
            env["CONCORD_LOCKS_URL"] = f"{locks_url}{sep}prefix=stack{uuid.uuid4().hex[:6]}"
        out[label] = LiveServer(tmp / label.replace(" ", "-"), env_overrides=env)
    return out


def rows(rates: dict[str, list[float]], storage: str) -> list[Row]:
    """Each package's gain (all against all-but-it), and all four against none."""
    m = {label: statistics.median(values) for label, values in rates.items()}
    out = [
        Row(
            f"REST lock requests on {storage}, fast stack (gain from {name})",
            m["all"],
            "requests/s",
            f"the same server without {name}",
            m[name],
        )
        for name in PACKAGES
    ]
    out.append(
        Row(
            f"REST lock requests on {storage}, fast stack (all four)",
            m["all"],
            "requests/s",
            "the same server without uvloop, httptools, hiredis and orjson",
            m[NONE],
        )
    )
    return out


def main() -> None:
    """Starts the variants, measures them in turns, writes the rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--locks-url", default=os.environ.get("CONCORD_TEST_REDIS_URL", ""))
    add_json_argument(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        write_rows(args.json, [], skipped="wrk is not installed (scripts/setup.sh apt)")
        return
    storage = "Redis" if args.locks_url else "embedded SQLite"
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        variants = servers(Path(tmp), args.locks_url)
        try:
            for server in variants.values():
                server.start()
            for _ in range(args.rounds):
                for label, server in variants.items():
                    rate = wrk(
                        server.base_url,
                        args.seconds,
                        args.connections,
                        "wrk_lock_cycle.lua",
                    )
                    rates.setdefault(label, []).append(rate)
        finally:
            for server in variants.values():
                server.stop()
    write_rows(args.json, rows(rates, storage))


if __name__ == "__main__":
    main()
