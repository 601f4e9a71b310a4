"""The row every benchmark script writes: one figure next to its baseline from the same run.

Every `bench/bench_*.py` takes `--json PATH` and writes `{"rows": [Row, ...]}` there (see
bench/README.md, "Row schema"); `bench/run_all.py` (`make bench`) runs them all and merges them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# The server of every benchmark: no rate limits, quiet logs, no test hooks.
SERVER_ENV = {
    "CONCORD_RATE_LIMIT_PER_SECOND": "0",
    "CONCORD_LOG_LEVEL": "WARNING",
    "CONCORD_TEST_HOOKS": "false",
}


@dataclass(frozen=True)
class Row:
    """One measured figure, its same-run baseline and the ratio between them."""

    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    goal: float | None = None
    better: str = "higher"  # "higher": met when ratio >= goal; "lower": met when ratio <= goal

    @property
    def ratio(self) -> float:
        """value / baseline_value (0 when the baseline is 0)."""
        return self.value / self.baseline_value if self.baseline_value else 0.0

    def as_json(self) -> dict[str, object]:
        """The row as the schema's JSON object, ratio included."""
        data: dict[str, object] = asdict(self)
        data["value"] = round(self.value, 3)
        data["baseline_value"] = round(self.baseline_value, 3)
        data["ratio"] = round(self.ratio, 3)
        return data


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    """Adds the `--json PATH` option every benchmark script takes."""
    parser.add_argument("--json", type=Path, help="write the rows here (bench/README.md schema)")


def write_rows(path: Path | None, rows: list[Row], skipped: str = "") -> None:
    """Writes the rows to `path` (when given) and prints them as JSON on stdout."""
    document: dict[str, object] = {"rows": [row.as_json() for row in rows]}
    if skipped:
        document["skipped"] = skipped
    text = json.dumps(document, indent=2)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    print(text)


def go_tool(name: str) -> Path | None:
    """bench/<name>, a Go program, built into .scratch/bin when its sources are newer than the
    binary; None when there is no Go."""
    go = shutil.which("go") or str(ROOT / "tools/go/bin/go")
    if not Path(go).exists():
        return None
    src, out = BENCH / name, ROOT / ".scratch/bin" / name
    newest = max(f.stat().st_mtime for f in src.iterdir())
    if not out.exists() or out.stat().st_mtime < newest:
        env = dict(os.environ, GOWORK="off", GOFLAGS="-mod=mod")
        subprocess.run([go, "build", "-o", str(out), "."], cwd=src, env=env, check=True)
    return out
