"""Counters, gauges and histograms for code that runs on the server's event loop: exposed
through prometheus_client's registry in its text format, but updated without its locks
(prometheus_client takes a lock for every increment, and a histogram observation takes two,
plus a Python loop over the buckets).

Every update happens on the event loop's thread; nothing here is safe to update from another.
"""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

from prometheus_client import REGISTRY
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import CollectorRegistry
from prometheus_client.utils import floatToGoString

_GO_FLOAT: Callable[[float], str] = floatToGoString
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


class CounterSeries:
    """One counter series: a total that only goes up."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        """Adds `amount` (never negative)."""
        if amount < 0:
            raise ValueError("a counter only goes up")
        self.value += amount


class GaugeSeries:
    """One gauge series: a value that goes up and down."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        """Adds `amount`."""
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        """Subtracts `amount`."""
        self.value -= amount

    def set(self, value: float) -> None:
        """Sets the value."""
        self.value = float(value)

    @contextmanager
    def track_inprogress(self) -> Iterator[None]:
        """One more while the block runs."""
        self.value += 1
        try:
            yield
        finally:
            self.value -= 1


class HistogramSeries:
    """One histogram series: observations counted per bucket, and their sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf's own
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        """Counts one observation in the first bucket whose bound is at least `amount`."""
        self.counts[bisect.bisect_left(self.bounds, amount)] += 1
        self.sum += amount


S = TypeVar("S", CounterSeries, GaugeSeries, HistogramSeries)


class _Family(ABC, Generic[S]):
    """A metric name with its series, one per set of label values; it exposes them itself."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._series: dict[tuple[str, ...], S] = {}
        self._unlabelled: S | None = None if self.labelnames else self._create(())
        if registry is not None:
            registry.register(self)

    def labels(self, *values: str) -> S:
        """The series of these label values (created at 0 on first use)."""
        found = self._series.get(values)
        if found is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes the labels {self.labelnames}, got {values}")
            found = self._create(tuple(str(v) for v in values))
        return found

    def _create(self, values: tuple[str, ...]) -> S:
        series = self._series[values] = self._new()
        return series

    def _only(self) -> S:
        if self._unlabelled is None:
            raise ValueError(f"{self.name} has labels {self.labelnames}: use labels() first")
        return self._unlabelled

    @abstractmethod
    def _new(self) -> S:
        """A series at zero."""

    @abstractmethod
    def collect(self) -> Iterator[Metric]:
        """The metric family in prometheus_client's terms, for its exposition."""

    def describe(self) -> Iterator[Metric]:
        """The family's names, so that a registry refuses a second metric of the same name."""
        return self.collect()


class Counter(_Family[CounterSeries]):
    """A counter (its name ends in `_total`)."""

    def _new(self) -> CounterSeries:
        return CounterSeries()

    def inc(self, amount: float = 1.0) -> None:
        """Adds to the counter without labels."""
        self._only().inc(amount)

    def collect(self) -> Iterator[Metric]:
        """The counter's series."""
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, series in list(self._series.items()):
            family.add_metric(values, series.value)
        yield family


class Gauge(_Family[GaugeSeries]):
    """A gauge."""

    def _new(self) -> GaugeSeries:
        return GaugeSeries()

    def inc(self, amount: float = 1.0) -> None:
        """Adds to the gauge without labels."""
        self._only().inc(amount)

    def dec(self, amount: float = 1.0) -> None:
        """Subtracts from the gauge without labels."""
        self._only().dec(amount)

    def set(self, value: float) -> None:
        """Sets the gauge without labels."""
        self._only().set(value)

    def collect(self) -> Iterator[Metric]:
        """The gauge's series."""
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, series in list(self._series.items()):
            family.add_metric(values, series.value)
        yield family


class Histogram(_Family[HistogramSeries]):
    """A histogram with fixed bucket bounds (+Inf is always the last)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        self.bounds = tuple(sorted(float(b) for b in buckets if b != float("inf")))
        super().__init__(name, documentation, labelnames, registry)

    def _new(self) -> HistogramSeries:
        return HistogramSeries(self.bounds)

    def observe(self, amount: float) -> None:
        """Observes into the histogram without labels."""
        self._only().observe(amount)

    def collect(self) -> Iterator[Metric]:
        """The histogram's series: cumulative buckets, count and sum."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        names = [*(_bound_text(b) for b in self.bounds), "+Inf"]
        for values, series in list(self._series.items()):
            running, buckets = 0, []
            for name, count in zip(names, series.counts, strict=True):
                running += count
                buckets.append((name, float(running)))
            family.add_metric(values, buckets, series.sum)
        yield family


def _bound_text(bound: float) -> str:
    """A bucket's `le` label as prometheus_client writes it (Go's float formatting)."""
    return _GO_FLOAT(bound)
