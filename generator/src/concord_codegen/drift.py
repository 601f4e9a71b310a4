"""Compare freshly generated files with the working tree (`concord-gen check`)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from concord_codegen.targets.base import GeneratedFile
from concord_codegen.writer import files_under

DIFF_LINES = 20


@dataclass
class DriftReport:
    """Files that differ from, are missing from, or linger in the working tree."""

    changed: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the working tree matches the spec."""
        return not (self.changed or self.missing or self.stale)

    def summary(self) -> str:
        """Human-readable report: one line per file, then the head of each diff."""
        lines = [f"changed: {p}" for p in self.changed]
        lines += [f"missing: {p}" for p in self.missing]
        lines += [f"stale (no longer generated): {p}" for p in self.stale]
        for path, diff in self.changed.items():
            lines += ["", f"--- diff of {path} (first {DIFF_LINES} lines) ---", *diff]
        return "\n".join(lines)


def compare(
    root: Path,
    expected: list[GeneratedFile],
    previous: set[str],
    outputs: tuple[str, ...],
) -> DriftReport:
    """Drift between `expected` (manifest included) and what is on disk under `root`."""
    report = DriftReport()
    for file in sorted(expected, key=lambda f: f.path):
        on_disk = root / file.path
        if not on_disk.is_file():
            report.missing.append(file.path)
            continue
        actual = on_disk.read_text(encoding="utf-8", errors="replace")
        if actual != file.content:
            report.changed[file.path] = _diff_head(file.path, actual, file.content)
    produced = {f.path for f in expected}
    lingering = (previous | files_under(root, outputs)) - produced
    report.stale = sorted(p for p in lingering if (root / p).is_file())
    return report


def _diff_head(path: str, actual: str, expected: str) -> list[str]:
    """The first lines of a unified diff from the working tree to the expected content."""
    diff = difflib.unified_diff(
        actual.splitlines(),
        expected.splitlines(),
        fromfile=f"{path} (working tree)",
        tofile=f"{path} (generated)",
        lineterm="",
    )
    head = []
    for i, line in enumerate(diff):
        if i == DIFF_LINES:
            head.append("...")
            break
        head.append(line)
    return head
