"""Cross-language cases: a client with `language:` runs on another adapter of the run."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from tests.conformance.runner.adapter import AdapterSpec, PoolSet
from tests.conformance.runner.cli import peer_of
from tests.conformance.runner.model import FEATURE_HELPERS, Raw
from tests.conformance.runner.scheduler import Plan, run_language
from tests.conformance.runner_tests.conftest import FAKE, cases_from

CASES = """
- name: two-languages
  clients:
    worker: {language: peer, api_key: w}
    named: {language: other}
  steps:
    - op: Echo
      expect: {result: {adapter: fake}}
    - client: worker
      op: Echo
      expect: {result: {adapter: other, client: worker, config: {api_key: w}}}
    - client: named
      op: Echo
      async: bg
    - group:
        - {op: Echo}
        - {client: worker, op: Echo}
      expect: {result: {adapter: {$capture: last}}}
    - await: bg
      expect: {result: {adapter: other, config: {language: {$missing: true}}}}
"""


def specs(tmp_path: Path) -> dict[str, AdapterSpec]:
    logs = tmp_path / "logs"
    fake = AdapterSpec("fake", (sys.executable, str(FAKE)), tmp_path, logs)
    other = AdapterSpec("other", (sys.executable, str(FAKE), "other"), tmp_path, logs)
    return {"fake": fake, "other": other}


def test_clients_of_another_language_run_on_its_adapter(tmp_path: Path) -> None:
    table = specs(tmp_path)
    pools = PoolSet(table)
    try:
        plan = Plan(
            cases_from(tmp_path, CASES), "http://127.0.0.1:1", "k", True, None, peer="other"
        )
        (run,) = run_language(table["fake"], plan, pools)
    finally:
        pools.close()
    assert run.raw is Raw.PASSED, run.message
    assert any(line.startswith("-> [other]") for line in run.transcript)


def test_a_peer_lacking_a_feature_skips_the_case(tmp_path: Path) -> None:
    table = specs(tmp_path)
    table["other"] = dataclasses.replace(table["other"], lacks=((FEATURE_HELPERS, "no helpers"),))
    text = """
- name: helper-on-peer
  clients: {worker: {language: peer}}
  steps: [{client: worker, op: helper.RunWorker}]
"""
    pools = PoolSet(table)
    try:
        plan = Plan(cases_from(tmp_path, text), "http://127.0.0.1:1", "k", True, None, peer="other")
        (run,) = run_language(table["fake"], plan, pools)
    finally:
        pools.close()
    assert run.raw is Raw.SKIPPED
    assert run.message == "the other adapter (a client's language) lacks helpers: no helpers"


def test_an_unknown_language_is_an_error(tmp_path: Path) -> None:
    table = specs(tmp_path)
    text = "- name: x\n  clients: {c: {language: cobol}}\n  steps: [{client: c, op: Echo}]\n"
    plan = Plan(cases_from(tmp_path, text), "http://127.0.0.1:1", "k", True, None)
    (run,) = run_language(table["fake"], plan)
    assert run.raw is Raw.ERROR
    assert "no adapter for language 'cobol'" in run.message


def test_the_peer_is_the_next_language_of_the_run() -> None:
    assert peer_of("python", ["rest", "python", "go"]) == "go"
    assert peer_of("go", ["rest", "python", "go"]) == "rest"
    assert peer_of("go", ["go"]) == "rest"
    assert peer_of("go", ["go", "python"], chosen="java") == "java"
