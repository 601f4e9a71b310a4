"""Runs Debian's real Prometheus on loopback, scraping a live server, for end-to-end tests."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.live import free_port, wait_while_running

REPO = Path(__file__).resolve().parents[3]
DASHBOARDS = sorted((REPO / "deploy" / "grafana").glob("*.json"))
ALERT_RULES = REPO / "deploy" / "prometheus" / "concord-alerts.yml"
TIMEOUT_SECONDS = 120.0  # generous: the machine may be busy
# What Grafana puts in place of its variables before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
METRIC_NAME = re.compile(r"\bconcord_[a-z0-9_]+")


def prometheus_binary() -> str:
    """The `prometheus` executable, or a skip naming the set-up step that installs it."""
    found = shutil.which("prometheus")
    if found is None:
        pytest.skip("prometheus is not installed (scripts/setup.sh apt installs Debian's)")
    return found


def dashboard_queries(job: str) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) of every dashboard target, variables filled as Grafana does."""
    for path in DASHBOARDS:
        for panel in _panels(json.loads(path.read_text())["panels"]):
            for target in panel.get("targets", []):
                yield f"{path.name}: {panel['title']}", fill_variables(target["expr"], job)


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def fill_variables(expr: str, job: str) -> str:
    """The query with Grafana's built-in variables and the dashboard's `$job` filled in."""
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr.replace("$job", job)


def alert_expressions() -> Iterator[tuple[str, str]]:
    """(alert name, PromQL) of every alert rule."""
    for group in yaml.safe_load(ALERT_RULES.read_text())["groups"]:
        for rule in group["rules"]:
            yield rule["alert"], rule["expr"]


def metric_names(expr: str) -> set[str]:
    """The Concord metric names a query reads."""
    return set(METRIC_NAME.findall(expr))


@dataclass
class Prometheus:
    """One Prometheus process scraping `target` every second, with Concord's alert rules."""

    work_dir: Path
    target: str
    job: str = "concord"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The HTTP API's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Prometheus:
        """Writes the configuration, starts the process and waits until it is ready."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(ALERT_RULES)],
            "scrape_configs": [
                {"job_name": self.job, "static_configs": [{"targets": [self.target]}]}
            ],
        }
        config_path = self.work_dir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        log = (self.work_dir / "prometheus.log").open("ab")
        self.process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={config_path}",
                f"--storage.tsdb.path={self.work_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_for(self._ready, "Prometheus to be ready")
        return self

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + "/-/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Polls `condition` until it holds; fails with the log tail after the deadline."""
        wait_while_running(
            self.process,
            condition,
            what,
            self.log_tail,
            name="prometheus",
            timeout=TIMEOUT_SECONDS,
            interval=0.5,
        )

    def api(self, path: str, **params: str) -> dict[str, Any]:
        """A GET of the HTTP API: the whole JSON answer (`status`, `data` or `error`)."""
        answer: dict[str, Any] = httpx.get(self.url + path, params=params, timeout=30).json()
        return answer

    def query(self, expr: str) -> dict[str, Any]:
        """An instant query's JSON answer."""
        return self.api("/api/v1/query", query=expr)

    def series_names(self) -> set[str]:
        """Every metric name Prometheus holds."""
        return set(self.api("/api/v1/label/__name__/values")["data"])

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of Prometheus's log."""
        path = self.work_dir / "prometheus.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def stop(self) -> None:
        """Stops the process (SIGTERM, then SIGKILL if it hangs)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
