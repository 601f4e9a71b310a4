"""The case executor against the fake adapter: isolation, captures, clients, async, eventually."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tests.conformance.runner.adapter import AdapterPool, AdapterSpec
from tests.conformance.runner.executor import CaseExecutor, Target, call_timeout, judge, redact
from tests.conformance.runner.model import Raw
from tests.conformance.runner_tests.conftest import cases_from

TARGET = Target("http://127.0.0.1:1", "admin-secret-key")


def run_one(tmp_path: Path, pool: AdapterPool, text: str) -> tuple[Raw, str, str]:
    case = cases_from(tmp_path, text)[0]
    result = CaseExecutor(case, TARGET, pool).run()
    return result.raw, result.message, result.run_id


def test_run_placeholder_is_unique_per_case_run(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: iso
  steps:
    - op: Echo
      input: {name: "${run}-lock"}
      expect: {result: {input: {name: {$regex: "^r[0-9a-f]{10}-lock$", $capture: seen}}}}
"""
    case = cases_from(tmp_path, text)[0]
    first = CaseExecutor(case, TARGET, pool)
    second = CaseExecutor(case, TARGET, pool)
    assert first.run().raw is Raw.PASSED
    assert second.run().raw is Raw.PASSED
    assert first.scope.vars["seen"] == f"{first.scope.run_id}-lock"
    assert first.scope.vars["seen"] != second.scope.vars["seen"]


def test_captures_flow_into_later_inputs_and_expectations(
    tmp_path: Path, pool: AdapterPool
) -> None:
    text = """
- name: flow
  steps:
    - op: Echo
      input: {token: 41}
      expect: {result: {input: {token: {$capture: t}}}}
    - op: Echo
      input: {previous: "${t}", label: "t=${t}"}
      expect: {result: {input: {previous: {$eq: 41, $gt: 40}, label: t=41}}}
"""
    assert run_one(tmp_path, pool, text)[0] is Raw.PASSED


def test_named_clients_override_the_admin_config_lazily(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: clients
  clients:
    bob: {api_key: "${key}", max_retries: 0, headers: {X-Test: "${run}-h"}}
    jwt: {bearer_token: tok}
  steps:
    - op: Echo
      input: {secret: s3cr3t}
      expect: {result: {input: {secret: {$capture: key}}, config: {api_key: admin-secret-key}}}
    - client: bob
      op: Echo
      expect:
        result:
          client: bob
          config: {api_key: s3cr3t, bearer_token: "", max_retries: 0, timeout_ms: 10000,
                   headers: {X-Test: {$regex: "^r.*-h$"}}, base_url: "http://127.0.0.1:1"}
    - client: jwt
      op: Echo
      expect: {result: {config: {api_key: "", bearer_token: tok, max_retries: 2}}}
"""
    raw, message, _ = run_one(tmp_path, pool, text)
    assert raw is Raw.PASSED, message


def test_expected_errors_and_wrong_outcomes(tmp_path: Path, pool: AdapterPool) -> None:
    good = """
- name: err
  steps:
    - op: Fail
      input: {code: LOCK_CONFLICT, status: 409}
      expect: {error: {code: LOCK_CONFLICT, http_status: 409}}
"""
    assert run_one(tmp_path, pool, good)[0] is Raw.PASSED
    bad = """
- name: err
  steps:
    - op: Fail
      expect: {result: {}}
"""
    raw, message, _ = run_one(tmp_path, pool, bad)
    assert raw is Raw.FAILED
    assert "expected success, got api_error" in message


def test_adapter_errors_are_never_a_pass(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: unsupported
  steps:
    - op: Nope
      expect: {error: {code: {$any: true}}}
"""
    raw, message, _ = run_one(tmp_path, pool, text)
    assert raw is Raw.ERROR
    assert "unsupported op Nope" in message


def test_broken_adapters_become_errors_and_are_replaced(tmp_path: Path, pool: AdapterPool) -> None:
    for op, words in (("Garbage", "not JSON"), ("Exit", "adapter exited")):
        raw, message, _ = run_one(tmp_path, pool, f"- name: b\n  steps: [{{op: {op}}}]\n")
        assert raw is Raw.ERROR
        assert words in message
    assert run_one(tmp_path, pool, "- name: ok\n  steps: [{op: Echo}]\n")[0] is Raw.PASSED


def test_first_failing_step_stops_the_case(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: stop
  steps:
    - op: Echo
      input: {a: 1}
      expect: {result: {input: {a: 2}}}
    - op: Exit
"""
    raw, message, _ = run_one(tmp_path, pool, text)
    assert raw is Raw.FAILED
    assert message.startswith("step 1 (Echo): result.input.a: expected 2, got 1")


def test_async_steps_run_alongside_later_steps(tmp_path: Path, pool: AdapterPool) -> None:
    # The background step waits for a file that only the next step creates: it can pass only
    # when both run at once (no timing involved).
    flag = tmp_path / "flag"
    text = f"""
- name: async
  steps:
    - op: WaitFor
      async: waiter
      input: {{path: "{flag}"}}
    - op: Touch
      input: {{path: "{flag}"}}
    - await: waiter
      expect: {{result: {{seen: true}}}}
"""
    case = cases_from(tmp_path, text)[0]
    result = CaseExecutor(case, TARGET, pool).run()
    assert result.raw is Raw.PASSED, result.message


def test_eventually_repeats_until_the_expectation_holds(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: eventually
  steps:
    - op: Count
      input: {key: "${run}"}
      eventually: {timeout_ms: 3000, interval_ms: 10}
      expect: {result: {count: 3}}
"""
    assert run_one(tmp_path, pool, text)[0] is Raw.PASSED
    failing = text.replace("count: 3", "count: -1").replace("3000", "100")
    raw, message, _ = run_one(tmp_path, pool, failing)
    assert raw is Raw.FAILED
    assert "still failing after" in message


def test_streams_pass_take_and_timeout(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: stream
  steps:
    - op: Stream
      stream: {take: 3, timeout_ms: 100}
      expect: {result: {messages: [{i: 0}, {i: 1}, {i: 2}]}}
"""
    assert run_one(tmp_path, pool, text)[0] is Raw.PASSED


def test_undefined_variables_fail_the_step(tmp_path: Path, pool: AdapterPool) -> None:
    raw, message, _ = run_one(
        tmp_path, pool, '- name: u\n  steps: [{op: Echo, input: {x: "${nope}"}}]\n'
    )
    assert raw is Raw.FAILED
    assert "no variable 'nope'" in message


def test_judge_and_helpers() -> None:
    assert judge("ok", None, {"outcome": "ok", "result": {}}).raw is Raw.PASSED
    assert judge("ok", None, {"outcome": "weird"}).raw is Raw.ERROR
    failed = judge("error", {"code": "X"}, {"outcome": "ok", "result": {}})
    assert failed.raw is Raw.FAILED
    assert "expected error X" in failed.message
    assert call_timeout({"max_retries": 0, "timeout_ms": 1000}, 2000) == 16.0
    hidden = redact({"client_config": {"api_key": "abcdefghijkl", "bearer_token": "short"}})
    assert hidden["client_config"] == {"api_key": "...ijkl", "bearer_token": "***"}


def test_client_errors_are_an_outcome_of_their_own(tmp_path: Path, pool: AdapterPool) -> None:
    good = """
- name: client-error
  steps:
    - op: ClientFail
      input: {kind: cross_origin_redirect}
      expect: {client_error: {kind: cross_origin_redirect, native_type: FakeError}}
"""
    assert run_one(tmp_path, pool, good)[0] is Raw.PASSED
    wrong = """
- name: client-error-wanted-api-error
  steps:
    - op: ClientFail
      expect: {error: {code: NOT_FOUND}}
"""
    raw, message, _ = run_one(tmp_path, pool, wrong)
    assert raw is Raw.FAILED
    assert "expected error NOT_FOUND, got client_error" in message
    api_instead = """
- name: api-error-wanted-client-error
  steps:
    - op: Fail
      expect: {client_error: {kind: connection}}
"""
    raw, message, _ = run_one(tmp_path, pool, api_instead)
    assert raw is Raw.FAILED
    assert "expected client_error connection, got api_error" in message


def test_helper_ops_go_to_the_adapter_with_a_longer_wait(tmp_path: Path, pool: AdapterPool) -> None:
    text = """
- name: helper
  steps:
    - op: helper.HoldLock
      input: {name: "${run}-l"}
      expect: {result: {helper: helper.HoldLock, input: {name: {$regex: "^r.*-l$"}}}}
"""
    assert run_one(tmp_path, pool, text)[0] is Raw.PASSED
    config = {"max_retries": 0, "timeout_ms": 1000}
    assert call_timeout(config, 0, "helper.RunWorker") > call_timeout(config, 0, "GetLock") + 60


def test_the_credential_trap_shows_what_reached_the_other_origin(
    tmp_path: Path, pool: AdapterPool
) -> None:
    def case(follow: str, leaked: str) -> str:
        return f"""
- name: trap-{follow}
  requires: [credential_trap]
  clients:
    trapped: {{base_url: "${{trap_url}}"}}
  steps:
    - client: trapped
      op: Fetch
      input: {{follow: {follow}}}
    - op: runner.TrapReport
      expect:
        result: {{requests_at_base: 1, credentials_elsewhere: {leaked}}}
"""

    raw, message, _ = run_one(tmp_path, pool, case("false", "{$len: 0}"))
    assert raw is Raw.PASSED, message
    raw, message, _ = run_one(tmp_path, pool, case("true", "[x-api-key]"))
    assert raw is Raw.PASSED, message
    raw, message, _ = run_one(tmp_path, pool, case("true", "{$len: 0}"))
    assert raw is Raw.FAILED and "credentials_elsewhere" in message


def test_an_async_stream_step_waits_for_the_adapters_stream_open_notice(
    tmp_path: Path, fake_spec: AdapterSpec
) -> None:
    opened, trigger = tmp_path / "opened", tmp_path / "trigger"
    text = f"""
- name: notice
  steps:
    - op: OpenStream
      async: stream
      input: {{opened: "{opened}", trigger: "{trigger}"}}
      stream: {{take: 1, timeout_ms: 10000}}
    - op: Exists
      input: {{path: "{opened}"}}
      expect: {{result: {{exists: true}}}}
      note: the stream must be open before the steps after it run
    - op: Touch
      input: {{path: "{trigger}"}}
    - await: stream
      expect: {{result: {{messages: [{{triggered: true}}]}}}}
"""
    pool = AdapterPool(dataclasses.replace(fake_spec, stream_open_notice=True))
    try:
        result = CaseExecutor(cases_from(tmp_path, text)[0], TARGET, pool).run()
    finally:
        pool.close()
    assert result.raw is Raw.PASSED, result.message


def test_a_fresh_adapter_process_is_warmed_up_before_the_first_step(
    tmp_path: Path, pool: AdapterPool
) -> None:
    text = """
- name: first
  steps:
    - op: Seen
      expect: {result: {ops: [GetLiveness]}}
- name: second
  steps:
    - op: Seen
      expect: {result: {ops: [GetLiveness, Seen]}}
"""
    first, second = cases_from(tmp_path, text)
    assert CaseExecutor(first, TARGET, pool).run().raw is Raw.PASSED
    assert CaseExecutor(second, TARGET, pool).run().raw is Raw.PASSED, "warmed up once"
