"""Outputs: JUnit XML per language, the case x language matrix, and the summary lines."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.conformance.runner.model import Status, Verdict

_FAILURE_STATUSES = {Status.FAIL: "failure", Status.XPASS: "failure", Status.ERROR: "error"}


def junit_xml(language: str, verdicts: Sequence[Verdict]) -> ET.ElementTree[ET.Element]:
    """A JUnit document: one testsuite per language, one testcase per case."""
    counts = Counter(v.status for v in verdicts)
    suite = ET.Element(
        "testsuite",
        name=f"conformance.{language}",
        tests=str(len(verdicts)),
        failures=str(counts[Status.FAIL] + counts[Status.XPASS]),
        errors=str(counts[Status.ERROR]),
        skipped=str(counts[Status.SKIP] + counts[Status.XFAIL]),
        time=f"{sum(v.run.seconds for v in verdicts):.3f}",
    )
    for item in verdicts:
        suite.append(_testcase(language, item))
    return ET.ElementTree(suite)


def _testcase(language: str, item: Verdict) -> ET.Element:
    case = item.run.case
    element = ET.Element(
        "testcase",
        classname=f"conformance.{language}.{case.domain}",
        name=case.name,
        time=f"{item.run.seconds:.3f}",
    )
    tag = _FAILURE_STATUSES.get(item.status)
    if tag is not None:
        message = item.run.message
        if item.status is Status.XPASS:
            message = f"listed as known failing ({item.reason}) but passed: remove it from the list"
        child = ET.SubElement(element, tag, message=message[:1000], type=item.status.value)
        child.text = message
    elif item.status in (Status.SKIP, Status.XFAIL):
        why = item.run.message if item.status is Status.SKIP else f"known failing: {item.reason}"
        ET.SubElement(element, "skipped", message=why[:1000])
    if item.run.transcript:
        out = ET.SubElement(element, "system-out")
        out.text = f"run id {item.run.run_id}\n" + "\n".join(item.run.transcript)
    return element


def write_junit(directory: Path, language: str, verdicts: Sequence[Verdict]) -> Path:
    """Writes `conformance-<lang>.xml` into the directory; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"conformance-{language}.xml"
    tree = junit_xml(language, verdicts)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path


def matrix(results: Mapping[str, Sequence[Verdict]]) -> str:
    """The case x language table of verdicts."""
    languages = list(results)
    by_case: dict[str, dict[str, Status]] = {}
    for language, verdicts in results.items():
        for item in verdicts:
            by_case.setdefault(item.case_id, {})[language] = item.status
    width = max([len("case"), *(len(c) for c in by_case)])
    columns = [max(len(lang), 5) for lang in languages]
    header = "case".ljust(width) + "".join(
        "  " + lang.ljust(w) for lang, w in zip(languages, columns, strict=True)
    )
    lines = [header, "-" * len(header)]
    for case_id in sorted(by_case):
        row = by_case[case_id]
        cells = [row[lang].value if lang in row else "-" for lang in languages]
        lines.append(
            case_id.ljust(width)
            + "".join("  " + c.ljust(w) for c, w in zip(cells, columns, strict=True))
        )
    return "\n".join(lines)


def summary(language: str, verdicts: Sequence[Verdict]) -> str:
    """`rest: 90 cases: 88 PASS, 1 XFAIL, 1 SKIP`."""
    counts = Counter(v.status for v in verdicts)
    parts = [f"{counts[s]} {s.value}" for s in Status if counts[s]]
    return f"{language}: {len(verdicts)} cases: {', '.join(parts) or 'none'}"


def problems(verdicts: Sequence[Verdict]) -> list[str]:
    """One line per verdict that fails the run, with its message."""
    lines = []
    for item in verdicts:
        if item.status.bad:
            why = item.run.message
            if item.status is Status.XPASS:
                why = f"passed but listed as known failing ({item.reason})"
            lines.append(f"  {item.status.value:5} {item.case_id}: {why}")
    return lines
