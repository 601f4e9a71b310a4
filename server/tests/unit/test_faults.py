"""The test-fault hook: bounded memory of fault keys."""

from __future__ import annotations

import pytest

from concord_server.api import faults
from concord_server.api.faults import FaultInjector
from concord_server.errors import ConcordError


def test_fault_keys_are_forgotten_oldest_first_past_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(faults, "MAX_KEYS", 3)
    injector = FaultInjector()
    for key in ("a", "b", "c", "d"):
        with pytest.raises(ConcordError):
            injector.maybe_fail({faults.HEADER: f"{key};1;UNAVAILABLE"})
    assert len(injector._seen) == 3
    with pytest.raises(ConcordError):  # "a" was forgotten, so its budget starts again
        injector.maybe_fail({faults.HEADER: "a;1;UNAVAILABLE"})
    injector.maybe_fail({faults.HEADER: "d;1;UNAVAILABLE"})  # "d" is remembered: no fault
