"""Case files: both layouts, defaults, and clear errors for malformed cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.runner import loader
from tests.conformance.runner.loader import CaseFileError
from tests.conformance.runner.model import ServerNeeds
from tests.conformance.runner_tests.conftest import cases_from

SUITE_CASES = Path(__file__).resolve().parents[1] / "cases"


def test_list_layout_and_defaults(tmp_path: Path) -> None:
    (case,) = cases_from(
        tmp_path, "- name: one\n  steps: [{op: GetLock, input: {name: x}}]\n", "locks"
    )
    assert case.case_id == "locks/one"
    step = case.steps[0]
    assert (step.client, step.op, step.expect.outcome, step.expect.value) == (
        "admin",
        "GetLock",
        "ok",
        None,
    )
    assert case.needs == ServerNeeds()


def test_mapping_layout_with_server_env_and_requires(tmp_path: Path) -> None:
    text = """
server: {env: {CONCORD_RATE_LIMIT_BURST: 4, FLAG: true}}
cases:
  - name: limited
    requires: [test_hooks]
    steps: [{op: GetLock}]
"""
    (case,) = cases_from(tmp_path, text)
    assert case.needs.env == (("CONCORD_RATE_LIMIT_BURST", "4"), ("FLAG", "true"))
    assert case.needs.test_hooks and case.needs.dedicated


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- name: a\n  stepz: []\n", "unknown key"),
        ("- name: a\n  steps: []\n", "non-empty list"),
        ("- name: a/b\n  steps: [{op: X}]\n", "without `/`"),
        ("- name: a\n  steps: [{input: {}}]\n", "needs `op`"),
        ("- name: a\n  steps: [{op: X, client: bob}]\n", "unknown client 'bob'"),
        ("- name: a\n  steps: [{op: X, async: w}]\n", "never awaited"),
        ("- name: a\n  steps: [{await: w}]\n", "awaits unknown async"),
        (
            "- name: a\n  steps: [{op: X, async: w, expect: {result: {}}}, {await: w}]\n",
            "`await` step",
        ),
        ("- name: a\n  steps: [{op: X, expect: {result: 1, error: {code: X}}}]\n", "exactly one"),
        ("- name: a\n  steps: [{op: X, expect: {error: {http_status: 1}}}]\n", "at least `code`"),
        ("- name: a\n  steps: [{op: X, sleep_ms: -1}]\n", "integer >= 0"),
        ("- name: a\n  clients: {admin: {}}\n  steps: [{op: X}]\n", "built in"),
        ("- name: a\n  clients: {bob: {apikey: k}}\n  steps: [{op: X}]\n", "unknown key"),
        ("- name: a\n  steps: [{op: X}]\n- name: a\n  steps: [{op: X}]\n", "duplicate case names"),
        ("- name: a\n  requires: [magic]\n  steps: [{op: X}]\n", "`requires`"),
        ("[unclosed", "not valid YAML"),
    ],
)
def test_malformed_cases_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CaseFileError, match=message):
        cases_from(tmp_path, text)


def test_unknown_ops_are_refused_when_the_op_list_is_known(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("- name: a\n  steps: [{op: GetLok}]\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="unknown op 'GetLok'"):
        loader.load_file(path, {"GetLock"})


def test_select_matches_globs_on_case_ids(tmp_path: Path) -> None:
    cases = cases_from(
        tmp_path, "- name: a\n  steps: [{op: X}]\n- name: b\n  steps: [{op: X}]\n", "locks"
    )
    assert [c.name for c in loader.select(cases, ["locks/b*"])] == ["b"]
    assert len(loader.select(cases, [])) == 2


def test_the_suite_cases_load() -> None:
    cases = loader.load_cases(SUITE_CASES.glob("*.yaml"))
    assert len(cases) >= 80
    assert len({c.case_id for c in cases}) == len(cases)


def test_helper_and_runner_ops_and_the_features_they_imply(tmp_path: Path) -> None:
    text = """
- name: hold
  requires: [http, credential_trap]
  steps:
    - op: helper.HoldLock
    - op: runner.TrapReport
      expect: {client_error: {kind: connection}}
"""
    (case,) = loader.load_file(_write(tmp_path, text), known_ops={"GetLock"})
    assert case.features == frozenset({"http", "helpers"})
    assert case.needs.credential_trap
    assert case.steps[1].expect.outcome == "client_error"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: [{op: helper.Unknown}]", "unknown op 'helper.Unknown'"),
        ("steps: [{op: runner.TrapReport}]", "needs `requires: [credential_trap]`"),
        ("requires: [gpu]\n  steps: [{op: GetLock}]", "`requires` takes a list of"),
        ("steps: [{op: GetLock, expect: {client_error: {}}}]", "at least `kind`"),
    ],
)
def test_bad_helper_runner_and_requirement_use_is_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(CaseFileError, match=message.replace("[", r"\[").replace("(", r"\(")):
        loader.load_file(_write(tmp_path, f"- name: bad\n  {text}\n"), known_ops={"GetLock"})


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "helpers.yaml"
    path.write_text(text, encoding="utf-8")
    return path
