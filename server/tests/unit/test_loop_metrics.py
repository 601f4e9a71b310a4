"""The event-loop metrics expose exactly what prometheus_client's own metrics would."""

from __future__ import annotations

from typing import Any

import prometheus_client
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from concord_server.telemetry import loop_metrics
from concord_server.telemetry.metrics import BUCKETS

LABELS = st.sampled_from(["a", "b", "c"])
AMOUNT = st.floats(min_value=0, max_value=100, allow_nan=False)


def exposition(registry: CollectorRegistry) -> list[str]:
    """The text format without `_created` samples (prometheus_client's own extra)."""
    text = generate_latest(registry).decode()
    return [line for line in text.splitlines() if "_created" not in line]


def registries() -> tuple[CollectorRegistry, CollectorRegistry]:
    return CollectorRegistry(auto_describe=True), CollectorRegistry(auto_describe=True)


@given(st.lists(st.tuples(LABELS, AMOUNT | st.sampled_from(BUCKETS)), max_size=40))
def test_histograms_count_each_observation_in_the_same_bucket(
    observations: list[tuple[str, float]],
) -> None:
    theirs, ours = registries()
    reference = prometheus_client.Histogram(
        "h_seconds", "h", ["l"], buckets=BUCKETS, registry=theirs
    )
    fast = loop_metrics.Histogram("h_seconds", "h", ["l"], buckets=BUCKETS, registry=ours)
    for label, amount in observations:
        reference.labels(label).observe(amount)
        fast.labels(label).observe(amount)
    assert exposition(ours) == exposition(theirs)


@given(st.lists(st.tuples(LABELS, AMOUNT), max_size=40))
def test_counters_and_gauges_add_up_the_same(steps: list[tuple[str, float]]) -> None:
    theirs, ours = registries()
    metrics: list[tuple[Any, Any]] = [
        (
            prometheus_client.Counter("c_total", "c", ["l"], registry=theirs),
            loop_metrics.Counter("c_total", "c", ["l"], registry=ours),
        ),
        (
            prometheus_client.Gauge("g", "g", ["l"], registry=theirs),
            loop_metrics.Gauge("g", "g", ["l"], registry=ours),
        ),
    ]
    for label, amount in steps:
        for reference, fast in metrics:
            reference.labels(label).inc(amount)
            fast.labels(label).inc(amount)
    gauge_reference, gauge_fast = metrics[1]
    gauge_reference.labels("a").dec(2.5)
    gauge_fast.labels("a").dec(2.5)
    assert exposition(ours) == exposition(theirs)


def test_unlabelled_metrics_exist_from_the_start() -> None:
    theirs, ours = registries()
    prometheus_client.Histogram("u_seconds", "u", registry=theirs)
    prometheus_client.Counter("u_total", "u", registry=theirs).inc(2)
    loop_metrics.Histogram("u_seconds", "u", registry=ours)
    loop_metrics.Counter("u_total", "u", registry=ours).inc(2)
    assert exposition(ours) == exposition(theirs)


def test_a_gauge_tracks_a_block_while_it_runs() -> None:
    gauge = loop_metrics.Gauge("open", "open", ["kind"], registry=None)
    with gauge.labels("ws").track_inprogress():
        assert gauge.labels("ws").value == 1
    assert gauge.labels("ws").value == 0


def test_misuse_is_refused_as_prometheus_client_refuses_it() -> None:
    counter = loop_metrics.Counter("m_total", "m", ["a", "b"], registry=None)
    with pytest.raises(ValueError):
        counter.labels("only-one")
    with pytest.raises(ValueError):
        counter.inc()
    with pytest.raises(ValueError):
        counter.labels("x", "y").inc(-1)
    registry = CollectorRegistry()
    loop_metrics.Gauge("taken", "t", registry=registry)
    with pytest.raises(ValueError):
        loop_metrics.Gauge("taken", "t", registry=registry)
