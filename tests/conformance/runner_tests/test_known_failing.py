"""Known-failing lists: parsing, verdicts (XFAIL / XPASS) and stale entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.runner import known_failing
from tests.conformance.runner.model import (
    Case,
    CaseRun,
    ConformanceError,
    Expect,
    Raw,
    Status,
    Step,
)

LIST = """
# comment lines and blank lines are skipped

locks/watch-*      # SSE is not implemented yet
cache/ttl-expiry   # clock skew in CI
"""


def run(case_id: str, raw: Raw) -> CaseRun:
    domain, _, name = case_id.partition("/")
    step = Step(1, "admin", "GetLock", {}, Expect("ok", None))
    return CaseRun(Case(domain, name, (step,)), raw)


def test_parse_keeps_patterns_reasons_and_lines() -> None:
    entries = known_failing.parse(LIST)
    assert [(e.pattern, e.reason, e.line) for e in entries] == [
        ("locks/watch-*", "SSE is not implemented yet", 4),
        ("cache/ttl-expiry", "clock skew in CI", 5),
    ]


def test_every_entry_needs_a_reason() -> None:
    with pytest.raises(ConformanceError, match="needs a `# reason`"):
        known_failing.parse("locks/*\n", "go.txt")
    with pytest.raises(ConformanceError, match=r"go\.txt:1"):
        known_failing.parse("locks/*   #   \n", "go.txt")


@pytest.mark.parametrize(
    ("case_id", "raw", "status"),
    [
        ("locks/acquire", Raw.PASSED, Status.PASS),
        ("locks/acquire", Raw.FAILED, Status.FAIL),
        ("locks/acquire", Raw.ERROR, Status.ERROR),
        ("locks/watch-expiry", Raw.FAILED, Status.XFAIL),
        ("locks/watch-expiry", Raw.ERROR, Status.XFAIL),
        ("locks/watch-expiry", Raw.PASSED, Status.XPASS),
        ("locks/watch-expiry", Raw.SKIPPED, Status.SKIP),
    ],
)
def test_verdicts(case_id: str, raw: Raw, status: Status) -> None:
    verdict = known_failing.verdict(run(case_id, raw), known_failing.parse(LIST))
    assert verdict.status is status
    assert verdict.status.bad == (status in (Status.FAIL, Status.ERROR, Status.XPASS))
    if status in (Status.XFAIL, Status.XPASS):
        assert verdict.reason == "SSE is not implemented yet"


def test_missing_file_is_an_empty_list_and_unused_entries_are_found(tmp_path: Path) -> None:
    assert known_failing.load(tmp_path, "go") == []
    (tmp_path / "go.txt").write_text(LIST, encoding="utf-8")
    entries = known_failing.load(tmp_path, "go")
    stale = known_failing.unused(entries, ["locks/watch-expiry"])
    assert [e.pattern for e in stale] == ["cache/ttl-expiry"]


def test_the_committed_lists_parse() -> None:
    folder = Path(__file__).resolve().parents[1] / "known-failing"
    for path in folder.glob("*.txt"):
        known_failing.load(folder, path.stem)
