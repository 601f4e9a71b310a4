"""The monitoring files under deploy/: promtool checks and tests the alert rules; the dashboard
is well-formed and reads only metrics the server defines."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from prometheus_client import REGISTRY

import concord_server.middleware.metrics
import concord_server.telemetry.metrics  # noqa: F401  (registers the domain metrics)
from tests.e2e.prometheus import ALERT_RULES, DASHBOARDS, alert_expressions, metric_names

RULE_TESTS = ALERT_RULES.parent / "tests"
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (scripts/setup.sh apt installs Debian's prometheus)")
    return found


def _defined_names() -> set[str]:
    """Every sample name the server's registry can expose."""
    names: set[str] = set()
    for collector in list(REGISTRY._collector_to_names):
        for metric in collector.describe() if hasattr(collector, "describe") else []:
            names.add(metric.name)
            names.update(metric.name + suffix for suffix in (*HISTOGRAM_SUFFIXES, "_total"))
    return names


def test_promtool_checks_the_alert_rules() -> None:
    done = subprocess.run(
        [_promtool(), "check", "rules", str(ALERT_RULES)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_of_the_alert_rules_pass() -> None:
    tests = sorted(str(p) for p in RULE_TESTS.glob("*.test.yml"))
    assert tests
    done = subprocess.run(
        [_promtool(), "test", "rules", *tests], capture_output=True, text=True, cwd=RULE_TESTS
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_promtool_test() -> None:
    tested = "\n".join(p.read_text() for p in RULE_TESTS.glob("*.test.yml"))
    for name, _expr in alert_expressions():
        assert f"alertname: {name}\n" in tested, f"{name} has no promtool test"


def test_dashboards_are_well_formed_and_read_defined_metrics() -> None:
    assert DASHBOARDS
    defined = _defined_names()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        panels = [p for p in dashboard["panels"] if p["type"] != "row"]
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for panel in panels:
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            for target in panel["targets"]:
                unknown = metric_names(target["expr"]) - defined
                assert not unknown, f"{path.name}: {panel['title']} reads {unknown}"


def test_alerts_read_defined_metrics() -> None:
    defined = _defined_names()
    for name, expr in alert_expressions():
        assert not metric_names(expr) - defined, name
