"""Concurrent groups: calls issued at once on separate adapters, judged over the group."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.runner.adapter import AdapterPool
from tests.conformance.runner.executor import CaseExecutor, Target
from tests.conformance.runner.loader import CaseFileError
from tests.conformance.runner.model import Raw
from tests.conformance.runner_tests.conftest import cases_from

TARGET = Target("http://127.0.0.1:1", "admin-secret-key")


def run(tmp_path: Path, pool: AdapterPool, text: str) -> tuple[Raw, str]:
    result = CaseExecutor(cases_from(tmp_path, text)[0], TARGET, pool).run()
    return result.raw, result.message


def race(tmp_path: Path, expect: str) -> str:
    claim = tmp_path / "claim"
    return f"""
- name: race
  clients: {{alice: {{}}, bob: {{}}, carol: {{}}}}
  steps:
    - group:
        - {{client: alice, op: Claim, input: {{path: "{claim}"}}}}
        - {{client: bob, op: Claim, input: {{path: "{claim}"}}}}
        - {{client: carol, op: Claim, input: {{path: "{claim}"}}}}
      expect: {expect}
    - op: Echo
      input: {{winner: "${{winner}}"}}
      expect: {{result: {{input: {{winner: {{$one_of: [alice, bob, carol]}}}}}}}}
"""


def test_exactly_one_succeeds_and_the_others_fail_with_a_code(
    tmp_path: Path, pool: AdapterPool
) -> None:
    expect = "{succeeded: 1, result: {owner: {$capture: winner}}, error: {code: LOCK_CONFLICT}}"
    raw, message = run(tmp_path, pool, race(tmp_path, expect))
    assert raw is Raw.PASSED, message


def test_a_wrong_count_or_failure_code_fails_the_group(tmp_path: Path, pool: AdapterPool) -> None:
    raw, message = run(tmp_path, pool, race(tmp_path, "{succeeded: 2}"))
    assert raw is Raw.FAILED
    assert "expected 2 of 3 calls to succeed, 1 did" in message
    (tmp_path / "claim").unlink()
    raw, message = run(tmp_path, pool, race(tmp_path, "{succeeded: 1, error: {code: NOT_FOUND}}"))
    assert raw is Raw.FAILED
    assert "error.code: expected 'NOT_FOUND', got 'LOCK_CONFLICT'" in message


def test_all_succeed_with_distinct_values(tmp_path: Path, pool: AdapterPool) -> None:
    counter = tmp_path / "counter"
    text = f"""
- name: tickets
  steps:
    - group:
        - {{repeat: 4, op: Ticket, input: {{path: "{counter}"}}}}
      expect: {{succeeded: all, result: {{number: {{$gte: 0, $lt: 4}}}}, distinct: [number]}}
"""
    raw, message = run(tmp_path, pool, text)
    assert raw is Raw.PASSED, message
    same = """
- name: same
  steps:
    - group: [{repeat: 3, op: Echo, input: {n: 7}}]
      expect: {distinct: [input.n]}
"""
    raw, message = run(tmp_path, pool, same)
    assert raw is Raw.FAILED
    assert "distinct input.n: values repeat: [7, 7, 7]" in message


def test_calls_run_at_once(tmp_path: Path, pool: AdapterPool) -> None:
    # each call waits for the other's file: the group passes only when both run together
    one, two = tmp_path / "one", tmp_path / "two"
    text = f"""
- name: together
  steps:
    - group:
        - {{op: Touch, input: {{path: "{one}"}}}}
        - {{op: WaitFor, input: {{path: "{one}"}}}}
        - {{op: WaitFor, input: {{path: "{two}"}}}}
        - {{op: Touch, input: {{path: "{two}"}}}}
      expect: {{result: {{$one_of: [{{seen: true}}, {{touched: true}}]}}}}
    - op: Exists
      input: {{path: "{two}"}}
      expect: {{result: {{exists: true}}}}
"""
    raw, message = run(tmp_path, pool, text)
    assert raw is Raw.PASSED, message


def test_index_variable_and_adapter_errors(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: index
  steps:
    - group: [{repeat: 3, op: Echo, input: {name: "${run}-${i}"}}]
      expect: {result: {input: {name: {$regex: "-[0-2]$"}}}, distinct: [input.name]}
"""
    assert run(tmp_path, pool, text)[0] is Raw.PASSED
    broken = "- name: b\n  steps: [{group: [{op: Echo}, {op: Nope}], expect: {succeeded: 1}}]\n"
    raw, message = run(tmp_path, pool, broken)
    assert raw is Raw.ERROR
    assert "call 1 (admin Nope): adapter_error" in message


def test_count_matchers_and_client_errors(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: mixed
  steps:
    - group:
        - {op: Echo}
        - {repeat: 2, op: ClientFail, input: {kind: connection}}
      expect: {succeeded: {$lt: 2}, client_error: {kind: connection}}
"""
    raw, message = run(tmp_path, pool, text)
    assert raw is Raw.PASSED, message


@pytest.mark.parametrize(
    ("group", "words"),
    [
        ("{group: [{op: Echo}]}", "at least two calls"),
        ("{group: [{op: Echo}, {op: Echo}], expect: {succeeded: 3}}", "> the group's 2"),
        ("{group: [{op: Echo}, {op: Echo}], op: Echo}", "unknown key"),
        ("{group: [{op: Echo, async: x}, {op: Echo}]}", "unknown key"),
        ("{group: [{op: Echo}, {op: Echo}], expect: {distinct: x}}", "dotted paths"),
        ("{group: [{op: Echo}, {op: Echo, client: zed}]}", "unknown client 'zed'"),
        ("{group: [{op: runner.TrapReport}, {op: Echo}]}", "known op of an adapter"),
    ],
)
def test_malformed_groups_are_refused(tmp_path: Path, group: str, words: str) -> None:
    with pytest.raises(CaseFileError, match=words):
        cases_from(tmp_path, f"- name: g\n  steps: [{group}]\n")
