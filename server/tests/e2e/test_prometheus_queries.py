"""Debian's real Prometheus scrapes a live server: every dashboard query and every alert
expression evaluates without error, and reads only metrics the server exposes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.callbacks import CallbackServer
from tests.e2e.live import LiveServer
from tests.e2e.prometheus import (
    Prometheus,
    alert_expressions,
    dashboard_queries,
    metric_names,
    prometheus_binary,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[tuple[LiveServer, Prometheus]]:
    """A live server that gauges every second, and a Prometheus scraping it."""
    prometheus_binary()
    server = LiveServer(tmp_path / "data", {"CONCORD_METRICS_SAMPLE_INTERVAL": "1"}).start()
    prometheus = Prometheus(tmp_path / "prometheus", f"127.0.0.1:{server.http_port}")
    try:
        prometheus.start()
        yield server, prometheus
    finally:
        prometheus.stop()
        server.stop()


def _traffic(client: httpx.Client, callbacks: CallbackServer) -> None:
    """One call of each kind the dashboards show: locks, a saga, events, cache, discovery."""
    lock = {"owner": "a", "ttl": "30s"}
    client.post("/v1/locks/dash:acquire", json=lock).raise_for_status()
    assert client.post("/v1/locks/dash:acquire", json={**lock, "owner": "b"}).status_code == 409
    step = {"name": "pay", "action": {"http": {"url": callbacks.url("pay")}}}
    saga = {"saga_id": f"s-{uuid.uuid4().hex[:8]}", "definition": {"name": "d", "steps": [step]}}
    client.post("/v1/sagas", json=saga).raise_for_status()
    event = {"event_id": str(uuid.uuid4()), "type": "Made", "data": {}}
    client.post("/v1/streams/dash:append", json={"events": [event]}).raise_for_status()
    client.put("/v1/cache/ns/entries/k", json={"value": 1}).raise_for_status()
    client.get("/v1/cache/ns/entries/k").raise_for_status()
    assert client.get("/v1/cache/ns/entries/absent").status_code == 404
    instance = {"address": "10.0.0.1", "port": 80, "ttl": "30s"}
    client.put("/v1/services/web/instances/i1", json=instance).raise_for_status()


def _scraped_traffic(prometheus: Prometheus) -> bool:
    found = prometheus.query('sum(concord_lock_conflicts_total{job="concord"})')["data"]["result"]
    return bool(found) and float(found[0]["value"][1]) >= 1


def _rules_evaluated(prometheus: Prometheus) -> bool:
    groups = prometheus.api("/api/v1/rules")["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    return bool(rules) and all(r.get("lastEvaluation", "").startswith("20") for r in rules)


def test_every_dashboard_query_and_alert_evaluates(scraped: tuple[LiveServer, Prometheus]) -> None:
    server, prometheus = scraped
    callbacks = CallbackServer().start()
    try:
        with server.client() as client:
            _traffic(client, callbacks)
        prometheus.wait_for(lambda: _scraped_traffic(prometheus), "the traffic to be scraped")
        prometheus.wait_for(lambda: _rules_evaluated(prometheus), "every alert rule to run")
    finally:
        callbacks.stop()
    exposed = prometheus.series_names()
    queries = [*dashboard_queries("concord"), *alert_expressions()]
    assert len(queries) > 30
    for where, expr in queries:
        answer = prometheus.query(expr)
        assert answer["status"] == "success", f"{where}: {expr}\n{answer}"
        missing = metric_names(expr) - exposed
        assert not missing, f"{where} reads metrics the server does not expose: {missing}"
    for rule in (r for g in prometheus.api("/api/v1/rules")["data"]["groups"] for r in g["rules"]):
        assert rule["health"] == "ok", rule


def test_dashboard_job_variable_and_overview_panels_have_data(
    scraped: tuple[LiveServer, Prometheus],
) -> None:
    server, prometheus = scraped
    with server.client() as client:
        client.get("/v1/locks/nothing")
    prometheus.wait_for(
        lambda: (
            "concord"
            in prometheus.api("/api/v1/label/job/values", **{"match[]": "concord_rpc_calls_total"})[
                "data"
            ]
        ),
        "the job label of concord_rpc_calls_total",
    )
    rps = dict(dashboard_queries("concord"))[
        "concord-overview.json: Requests per second by transport"
    ]
    prometheus.wait_for(lambda: bool(prometheus.query(rps)["data"]["result"]), "a request rate")
