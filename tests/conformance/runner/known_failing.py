"""Known-failing lists (`known-failing/<lang>.txt`) and the verdicts they turn runs into.

One glob pattern per line, matched against case ids (`domain/name`), each with a reason:
`locks/watch-*  # the SDK has no SSE support yet`. Blank lines and `#` comment lines are skipped.
A listed case that passes is an XPASS and fails the run, so lists shrink as SDKs get fixed.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from tests.conformance.runner.model import CaseRun, ConformanceError, Raw, Status, Verdict


@dataclass(frozen=True)
class KnownFailure:
    """One line of a known-failing list."""

    pattern: str
    reason: str
    line: int


def parse(text: str, source: str = "<list>") -> list[KnownFailure]:
    """The entries of a list; a pattern without a `# reason` is an error."""
    entries: list[KnownFailure] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, reason = line.partition("#")
        if not sep or not reason.strip():
            raise ConformanceError(f"{source}:{number}: `{line}` needs a `# reason`")
        entries.append(KnownFailure(pattern.strip(), reason.strip(), number))
    return entries


def load(directory: Path, language: str) -> list[KnownFailure]:
    """The list of a language; no file means an empty list."""
    path = directory / f"{language}.txt"
    if not path.exists():
        return []
    return parse(path.read_text(encoding="utf-8"), str(path))


def lookup(entries: list[KnownFailure], case_id: str) -> KnownFailure | None:
    """The first entry whose pattern matches the case id."""
    for entry in entries:
        if fnmatch.fnmatchcase(case_id, entry.pattern):
            return entry
    return None


def verdict(run: CaseRun, entries: list[KnownFailure]) -> Verdict:
    """The status of a run, given the language's known failures."""
    listed = lookup(entries, run.case.case_id)
    if run.raw is Raw.SKIPPED:
        return Verdict(run, Status.SKIP)
    if listed is None:
        status = {Raw.PASSED: Status.PASS, Raw.FAILED: Status.FAIL, Raw.ERROR: Status.ERROR}
        return Verdict(run, status[run.raw])
    if run.raw is Raw.PASSED:
        return Verdict(run, Status.XPASS, listed.reason)
    return Verdict(run, Status.XFAIL, listed.reason)


def unused(entries: list[KnownFailure], case_ids: list[str]) -> list[KnownFailure]:
    """Entries that match none of the cases (stale lines worth removing)."""
    return [e for e in entries if not any(fnmatch.fnmatchcase(c, e.pattern) for c in case_ids)]
