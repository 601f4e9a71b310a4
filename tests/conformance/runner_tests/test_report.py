"""Outputs: JUnit XML, the matrix, summaries and problem lines."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conformance.runner import report
from tests.conformance.runner.model import Case, CaseRun, Expect, Raw, Status, Step, Verdict


def verdict(name: str, status: Status, raw: Raw = Raw.PASSED, message: str = "") -> Verdict:
    step = Step(1, "admin", "GetLock", {}, Expect("ok", None))
    run = CaseRun(Case("locks", name, (step,)), raw, message, 0.25, "r1", ("-> call", "<- reply"))
    return Verdict(run, status, "known reason" if status in (Status.XFAIL, Status.XPASS) else "")


VERDICTS = [
    verdict("a", Status.PASS),
    verdict("b", Status.FAIL, Raw.FAILED, "step 1 (GetLock): boom"),
    verdict("c", Status.ERROR, Raw.ERROR, "adapter_error: x"),
    verdict("d", Status.XFAIL, Raw.FAILED, "still broken"),
    verdict("e", Status.XPASS),
    verdict("f", Status.SKIP, Raw.SKIPPED, "needs a dedicated server"),
]


def test_junit_counts_and_elements(tmp_path: Path) -> None:
    path = report.write_junit(tmp_path, "go", VERDICTS)
    assert path.name == "conformance-go.xml"
    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite"
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == (
        "6",
        "2",
        "1",
        "2",
    )
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["a"].get("classname") == "conformance.go.locks"
    b_failure = cases["b"].find("failure")
    assert b_failure is not None and "boom" in (b_failure.text or "")
    assert cases["c"].find("error") is not None
    d_skip = cases["d"].find("skipped")
    assert d_skip is not None and "known failing: known reason" in (d_skip.get("message") or "")
    e_failure = cases["e"].find("failure")
    assert e_failure is not None and "remove it from the list" in (e_failure.get("message") or "")
    out = cases["a"].find("system-out")
    assert out is not None and "run id r1" in (out.text or "")


def test_matrix_has_a_row_per_case_and_a_column_per_language() -> None:
    text = report.matrix({"go": VERDICTS, "python": VERDICTS[:2]})
    lines = text.splitlines()
    assert lines[0].split() == ["case", "go", "python"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows["locks/a"] == ["PASS", "PASS"]
    assert rows["locks/e"] == ["XPASS", "-"]
    assert rows["locks/d"] == ["XFAIL", "-"]


def test_summary_and_problems() -> None:
    assert (
        report.summary("go", VERDICTS)
        == "go: 6 cases: 1 PASS, 1 FAIL, 1 ERROR, 1 XFAIL, 1 XPASS, 1 SKIP"
    )
    problems = report.problems(VERDICTS)
    assert len(problems) == 3
    assert any("XPASS locks/e: passed but listed as known failing" in p for p in problems)
