"""The command line end to end with the fake adapter (no server: the fake never calls one)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conformance.runner import cli
from tests.conformance.runner_tests.conftest import FAKE

OPENAPI = """
paths:
  /echo: {post: {x-concord-rpc: test.v1.FakeService/Echo}}
  /fail: {post: {x-concord-rpc: test.v1.FakeService/Fail}}
  /unused: {get: {x-concord-rpc: test.v1.OtherService/Unused}}
"""
CASES = """
- name: echo
  steps: [{op: Echo, input: {x: 1}, expect: {result: {input: {x: 1}}}}]
- name: fails
  steps: [{op: Fail, expect: {result: {}}}]
- name: hooks
  requires: [test_hooks]
  steps: [{op: Echo}]
"""
LIMITED = """
server: {env: {CONCORD_RATE_LIMIT_BURST: "1"}}
cases:
  - name: tiny
    steps: [{op: Echo}]
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A suite folder: cases, adapters.yaml with two fake languages, known-failing lists."""
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "demo.yaml").write_text(CASES, encoding="utf-8")
    (tmp_path / "cases" / "limits.yaml").write_text(LIMITED, encoding="utf-8")
    (tmp_path / "openapi.yaml").write_text(OPENAPI, encoding="utf-8")
    command = f'["{sys.executable}", "{FAKE}"]'
    (tmp_path / "adapters.yaml").write_text(f"one: {command}\ntwo: {command}\n", encoding="utf-8")
    (tmp_path / "kf").mkdir()
    (tmp_path / "kf" / "one.txt").write_text("demo/fails  # not yet\n", encoding="utf-8")
    (tmp_path / "kf" / "two.txt").write_text("demo/fails  # not yet\n", encoding="utf-8")
    return tmp_path


def argv(suite: Path, *extra: str) -> list[str]:
    return [
        "--server-url", "http://127.0.0.1:9",
        "--lang", "one,two",
        "--cases-dir", str(suite / "cases"),
        "--adapters", str(suite / "adapters.yaml"),
        "--known-failing-dir", str(suite / "kf"),
        "--openapi", str(suite / "openapi.yaml"),
        "--log-dir", str(suite / "logs"),
        *extra,
    ]  # fmt: skip


def test_known_failures_pass_the_run_and_junit_and_matrix_are_written(
    suite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(argv(suite, "--junit-dir", str(suite / "junit"), "--matrix", "--parallel", "2"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert (suite / "junit" / "conformance-one.xml").exists()
    assert (suite / "junit" / "conformance-two.xml").exists()
    assert "demo/fails" in out and "XFAIL" in out
    assert "one: 4 cases: 2 PASS, 1 XFAIL, 1 SKIP" in out
    assert "limits/tiny" in out


def test_xpass_fails_the_run(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (suite / "kf" / "two.txt").write_text("demo/echo  # wrongly listed\n", encoding="utf-8")
    assert cli.main(argv(suite, "--cases", "demo/echo")) == 1
    assert "XPASS demo/echo" in capsys.readouterr().out


def test_unexpected_failure_fails_the_run(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (suite / "kf" / "one.txt").write_text("", encoding="utf-8")
    assert cli.main(argv(suite, "--cases", "demo/*")) == 1
    assert "FAIL  demo/fails" in capsys.readouterr().out


def test_no_test_hooks_skips_cases_that_need_them(
    suite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv(suite, "--cases", "demo/hooks", "--no-test-hooks", "-v")) == 0
    assert "skipped demo/hooks" in capsys.readouterr().out


def test_require_coverage_fails_when_an_op_is_unused(
    suite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv(suite, "--list", "--require-coverage")) == 1
    out = capsys.readouterr().out
    assert "coverage: 2/3 operations" in out
    assert "NOT COVERED: Unused" in out
    assert "demo/echo" in out


def test_a_missing_adapter_is_an_error_for_every_case(
    suite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (suite / "adapters.yaml").write_text('one: ["/nonexistent/adapter"]\n', encoding="utf-8")
    assert cli.main(argv(suite, "--lang", "one", "--cases", "demo/echo")) == 1
    assert "cannot start adapter" in capsys.readouterr().out


def test_server_grpc_goes_with_server_url(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (suite / "cases" / "grpc.yaml").write_text(
        "- name: target\n"
        "  steps: [{op: Echo, expect: {result: {config: {grpc_target: 127.0.0.1:19}}}}]\n",
        encoding="utf-8",
    )
    extra = ("--server-grpc", "127.0.0.1:19", "--lang", "one", "--cases", "grpc/*")
    assert cli.main(argv(suite, *extra)) == 0, capsys.readouterr().out
    assert cli.main(argv(suite, *extra)[2:]) == 2
    assert "--server-grpc goes with --server-url" in capsys.readouterr().err


def test_usage_errors(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv(suite, "--lang", "klingon")) == 2
    assert "no command for language 'klingon'" in capsys.readouterr().err
    assert cli.main(argv(suite, "--cases", "nothing/*")) == 2


def test_cases_needing_a_feature_an_adapter_lacks_are_skipped_with_its_reason(
    suite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = f'["{sys.executable}", "{FAKE}"]'
    (suite / "adapters.yaml").write_text(
        f"one:\n  command: {command}\n  lacks: {{helpers: no SDK helpers here}}\ntwo: {command}\n",
        encoding="utf-8",
    )
    (suite / "cases" / "helpers.yaml").write_text(
        "- name: hold\n  steps: [{op: helper.HoldLock}]\n", encoding="utf-8"
    )
    assert cli.main(argv(suite, "--cases", "helpers/*", "-v", "--matrix")) == 0
    out = capsys.readouterr().out
    assert "the one adapter lacks helpers: no SDK helpers here" in out
    assert "one: 1 cases: 0 PASS, 1 SKIP" in out or "one: 1 cases: 1 SKIP" in out
    assert "two: 1 cases: 1 PASS" in out


def test_an_unknown_feature_in_adapters_yaml_is_a_usage_error(
    suite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (suite / "adapters.yaml").write_text(
        f'one: {{command: ["{sys.executable}"], lacks: {{teleport: why}}}}\n', encoding="utf-8"
    )
    assert cli.main(argv(suite, "--lang", "one", "--cases", "demo/echo")) == 2
    assert "maps features" in capsys.readouterr().err
