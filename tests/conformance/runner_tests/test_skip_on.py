"""`skip_on` / `only_on`: a case that makes no sense over one column's transport is skipped
there, with its reason, and runs everywhere else; a case for some columns alone runs only there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.runner.adapter import AdapterSpec
from tests.conformance.runner.loader import CaseFileError
from tests.conformance.runner.model import Raw
from tests.conformance.runner.scheduler import Plan, run_language
from tests.conformance.runner_tests.conftest import cases_from

CASES = """
- name: rest-only
  skip_on: {fake: "reads an HTTP header no other transport has"}
  steps: [{op: Echo, input: {a: 1}, expect: {result: {input: {a: 1}}}}]
- name: everywhere
  skip_on: {other: "not this one"}
  steps: [{op: Echo, input: {a: 2}, expect: {result: {input: {a: 2}}}}]
"""


def test_skipped_on_the_named_language_only(tmp_path: Path, fake_spec: AdapterSpec) -> None:
    cases = cases_from(tmp_path, CASES)
    assert cases[0].skip_on == {"fake": "reads an HTTP header no other transport has"}
    plan = Plan(cases, "http://127.0.0.1:1", "admin-key", True, None)
    skipped, ran = run_language(fake_spec, plan)
    assert skipped.raw is Raw.SKIPPED
    assert skipped.message == "does not apply to fake: reads an HTTP header no other transport has"
    assert ran.raw is Raw.PASSED, ran.message


@pytest.mark.parametrize("value", ["[fake]", "{fake: ''}", "{fake: 3}"])
def test_skip_on_needs_a_reason_per_language(tmp_path: Path, value: str) -> None:
    text = f"- name: a\n  skip_on: {value}\n  steps: [{{op: Echo}}]\n"
    with pytest.raises(CaseFileError, match="skip_on"):
        cases_from(tmp_path, text)


ONLY = """
- name: fake-only
  only_on: {languages: [fake, other], reason: "checks what only these adapters can send"}
  steps: [{op: Echo, input: {a: 1}, expect: {result: {input: {a: 1}}}}]
- name: elsewhere-only
  only_on: {languages: [other], reason: "another transport's behaviour"}
  steps: [{op: Echo}]
"""


def test_only_on_runs_on_the_named_languages_alone(tmp_path: Path, fake_spec: AdapterSpec) -> None:
    cases = cases_from(tmp_path, ONLY)
    plan = Plan(cases, "http://127.0.0.1:1", "admin-key", True, None)
    ran, skipped = run_language(fake_spec, plan)
    assert ran.raw is Raw.PASSED, ran.message
    assert skipped.raw is Raw.SKIPPED
    assert skipped.message == "applies only to other: another transport's behaviour"


@pytest.mark.parametrize(
    "value", ["[fake]", "{languages: [], reason: x}", "{languages: [fake]}", "{langs: [a]}"]
)
def test_only_on_needs_languages_and_a_reason(tmp_path: Path, value: str) -> None:
    text = f"- name: a\n  only_on: {value}\n  steps: [{{op: Echo}}]\n"
    with pytest.raises(CaseFileError, match="only_on"):
        cases_from(tmp_path, text)
