"""Per-call options, client-side timeouts as an outcome, and elapsed-time bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.runner.adapter import AdapterPool
from tests.conformance.runner.executor import CaseExecutor, Target, call_timeout
from tests.conformance.runner.loader import CaseFileError
from tests.conformance.runner.model import FEATURE_CALL_OPTIONS, FEATURE_CANCEL, Raw
from tests.conformance.runner_tests.conftest import cases_from

TARGET = Target("http://127.0.0.1:1", "admin-secret-key")


def run(tmp_path: Path, pool: AdapterPool, text: str) -> tuple[Raw, str]:
    result = CaseExecutor(cases_from(tmp_path, text)[0], TARGET, pool).run()
    return result.raw, result.message


def test_options_go_with_the_call_resolved_and_apart_from_the_client(
    tmp_path: Path, pool: AdapterPool
) -> None:
    text = """
- name: options
  steps:
    - op: Echo
      input: {n: 1}
      expect: {result: {input: {n: {$capture: n}}}}
    - op: Echo
      options: {headers: {X-Trace: "t-${n}"}, idempotency_key: "${run}-k", timeout_ms: 500,
                max_retries: 0}
      expect:
        result:
          options: {headers: {X-Trace: t-1}, idempotency_key: {$regex: "^r.*-k$"},
                    timeout_ms: 500, max_retries: 0}
          config: {headers: {$exact: true}, timeout_ms: 10000, max_retries: 2}
    - op: Echo
      expect: {result: {options: {$missing: true}}}
"""
    (case,) = cases_from(tmp_path, text)
    assert case.features == {FEATURE_CALL_OPTIONS}
    cancelling = text.replace("max_retries: 0}", "max_retries: 0, cancel_after_ms: 9}")
    assert cases_from(tmp_path, cancelling)[0].features == {FEATURE_CALL_OPTIONS, FEATURE_CANCEL}
    raw, message = run(tmp_path, pool, text)
    assert raw is Raw.PASSED, message


def test_per_call_limits_set_how_long_the_runner_waits() -> None:
    config = {"max_retries": 2, "timeout_ms": 10_000}
    assert call_timeout(config, 0, "X", {"timeout_ms": 1000, "max_retries": 0}) == 14.0
    assert call_timeout(config, 0, "X", {"headers": {}}) == call_timeout(config, 0, "X")


def test_a_client_side_timeout_is_an_expected_outcome(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: timeout
  steps:
    - op: Slow
      input: {ms: 5000}
      options: {timeout_ms: 200}
      expect: {client_error: {kind: timeout}}
      elapsed: {min_ms: 150, max_ms: 4000}
"""
    raw, message = run(tmp_path, pool, text)
    assert raw is Raw.PASSED, message


def test_elapsed_bounds(tmp_path: Path, pool: AdapterPool) -> None:
    def case(bounds: str) -> str:
        return f"""
- name: elapsed
  steps:
    - op: Sleep
      input: {{ms: 300}}
      elapsed: {bounds}
"""

    assert run(tmp_path, pool, case("{min_ms: 250, max_ms: 60000}"))[0] is Raw.PASSED
    raw, message = run(tmp_path, pool, case("{min_ms: 5000}"))
    assert raw is Raw.FAILED
    assert "expected at least 5000 ms" in message
    raw, message = run(tmp_path, pool, case("{max_ms: 100}"))
    assert raw is Raw.FAILED
    assert "expected at most 100 ms" in message


def test_elapsed_of_an_async_call_is_judged_on_its_await(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: async-elapsed
  steps:
    - op: Sleep
      async: slow
      input: {ms: 400}
    - op: Echo
    - await: slow
      expect: {result: {slept: 400}}
      elapsed: {min_ms: 350}
"""
    raw, message = run(tmp_path, pool, text)
    assert raw is Raw.PASSED, message


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ("{op: Echo, options: {retries: 1}}", "unknown key"),
        ("{op: Echo, options: {timeout_ms: -1}}", "options.timeout_ms"),
        ("{op: Echo, options: {headers: [a]}}", "options.headers"),
        ("{op: Echo, elapsed: {}}", "min_ms and/or max_ms"),
        ("{op: Echo, elapsed: {min_ms: 5, max_ms: 2}}", "elapsed.max_ms"),
        ("{op: Echo, async: a, elapsed: {min_ms: 1}}", "`await` step"),
    ],
)
def test_malformed_options_and_bounds_are_refused(tmp_path: Path, step: str, words: str) -> None:
    with pytest.raises(CaseFileError, match=words):
        cases_from(tmp_path, f"- name: c\n  steps: [{step}]\n")
