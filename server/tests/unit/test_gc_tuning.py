"""The server's setting of Python's cyclic garbage collector (gc_tuning.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from concord_server import __main__ as entry
from concord_server import gc_tuning, workers
from tests.fakes import make_settings


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[None]:
    """Puts the test process's collector thresholds back afterwards."""
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_tune_raises_the_young_threshold_and_keeps_the_older_ones() -> None:
    gc.set_threshold(700, 11, 12)
    gc_tuning.tune()
    assert gc.get_threshold() == (gc_tuning.YOUNG_THRESHOLD, 11, 12)
    assert gc_tuning.YOUNG_THRESHOLD == 10_000


class _Supervisor:
    """Stands in for the workers' supervisor: exits at once."""

    def __init__(self, count: int, grace: int) -> None:
        self.count = count

    def run(self) -> int:
        return 0


def test_the_server_tunes_the_collector_before_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    gc.set_threshold(700, 10, 10)
    monkeypatch.setattr(entry, "_settings", lambda: (make_settings(workers=2), "INFO"))
    monkeypatch.setattr(workers, "Supervisor", _Supervisor)
    with pytest.raises(SystemExit) as exited:
        entry.main()
    assert exited.value.code == 0
    assert gc.get_threshold() == (gc_tuning.YOUNG_THRESHOLD, 10, 10)
