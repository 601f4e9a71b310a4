"""`make bench`: runs every `bench/bench_*.py` with `--json`, prints one table of all their rows
and writes the merged JSON to `.scratch/bench/<commit>.json` for comparison between commits.

    .venv/bin/python bench/run_all.py [--only locks,events] [--against .scratch/bench/<sha>.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


def git(*args: str) -> str:
    """The output of a git command in the checkout ('' when git fails)."""
    done = subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def run_script(script: Path, out: Path) -> dict[str, object]:
    """Runs one benchmark script; returns its document plus its wall time and load average."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    cmd = [sys.executable, str(script), "--json", str(out)]
    print(f"bench: {script.name} ...", file=sys.stderr, flush=True)
    done = subprocess.run(cmd, check=False, cwd=ROOT, stdout=subprocess.DEVNULL)
    document: dict[str, object] = {"rows": []}
    if done.returncode != 0 or not out.exists():
        document["error"] = f"exit {done.returncode}"
    else:
        document = json.loads(out.read_text())
    document["seconds"] = round(time.perf_counter() - start, 1)
    document["load_average_at_start"] = round(load, 2)
    return document


def met(row: dict[str, object]) -> str:
    """'yes' / 'NO' against the row's goal, '' without one."""
    goal, ratio = row.get("goal"), row["ratio"]
    if goal is None:
        return ""
    assert isinstance(goal, int | float) and isinstance(ratio, int | float)
    ok = ratio <= goal if row.get("better") == "lower" else ratio >= goal
    return "yes" if ok else "NO"


def table(rows: list[dict[str, object]], previous: dict[str, float]) -> str:
    """One plain-text table of every row (with the previous run's ratio when given)."""
    head = [
        "benchmark",
        "value",
        "unit",
        "baseline",
        "baseline value",
        "ratio",
        "goal",
        "met",
    ]
    if previous:
        head.append("ratio before")
    lines = [head]
    for row in rows:
        goal = row.get("goal")
        line = [
            str(row["name"]),
            f"{row['value']:,.1f}",
            str(row["unit"]),
            str(row["baseline"]),
            f"{row['baseline_value']:,.1f}",
            f"{row['ratio']:.3f}",
            "" if goal is None else f"{goal:g}",
            met(row),
        ]
        if previous:
            before = previous.get(str(row["name"]))
            line.append("" if before is None else f"{before:.3f}")
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def main() -> None:
    """Runs the scripts, prints the table, writes the merged JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated script names, e.g. locks")
    parser.add_argument("--against", type=Path, help="an earlier merged JSON to compare with")
    parser.add_argument("--out", type=Path, help="default .scratch/bench/<commit>.json")
    args = parser.parse_args()
    wanted = {f"bench_{n.strip()}.py" for n in args.only.split(",") if n.strip()}
    scripts = sorted(p for p in BENCH.glob("bench_*.py") if not wanted or p.name in wanted)
    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    merged: dict[str, object] = {
        "commit": commit,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "scripts": {},
    }
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for script in scripts:
            document = run_script(script, Path(tmp) / f"{script.stem}.json")
            merged["scripts"][script.stem] = document  # type: ignore[index]
            for row in document["rows"]:  # type: ignore[attr-defined]
                rows.append({"script": script.stem, **row})
    merged["rows"] = rows
    merged["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out = args.out or ROOT / ".scratch" / "bench" / f"{commit}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, indent=2) + "\n")
    previous: dict[str, float] = {}
    if args.against:
        previous = {r["name"]: r["ratio"] for r in json.loads(args.against.read_text())["rows"]}
    print(table(rows, previous))
    for name, document in merged["scripts"].items():  # type: ignore[attr-defined]
        note = document.get("error") or document.get("skipped")
        extra = f" ({note})" if note else ""
        print(
            f"{name}: {document['seconds']} s, load average {document['load_average_at_start']}"
            f" at start{extra}"
        )
    print(f"bench: wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if any(d.get("error") for d in merged["scripts"].values()):  # type: ignore[attr-defined]
        raise SystemExit(1)


if __name__ == "__main__":
    main()
