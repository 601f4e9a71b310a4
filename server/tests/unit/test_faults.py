"""The test-fault hook: failures, delays, RPC filters and bounded memory of fault keys."""

from __future__ import annotations

import asyncio

import pytest

from concord_server.api import faults
from concord_server.api.faults import FaultInjector, StreamEnd
from concord_server.errors import ConcordError, ErrorCode


async def test_fault_keys_are_forgotten_oldest_first_past_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(faults, "MAX_KEYS", 3)
    injector = FaultInjector()
    for key in ("a", "b", "c", "d"):
        with pytest.raises(ConcordError):
            await injector.maybe_fail({faults.HEADER: f"{key};1;UNAVAILABLE"})
    assert len(injector._seen) == 3
    with pytest.raises(ConcordError):  # "a" was forgotten, so its budget starts again
        await injector.maybe_fail({faults.HEADER: "a;1;UNAVAILABLE"})
    await injector.maybe_fail({faults.HEADER: "d;1;UNAVAILABLE"})  # "d" is remembered: no fault


async def test_the_first_count_calls_fail_with_the_code_then_calls_run() -> None:
    injector = FaultInjector()
    header = {faults.HEADER: "k;2;LOCK_NOT_HELD"}
    for _ in range(2):
        with pytest.raises(ConcordError) as caught:
            await injector.maybe_fail(header, "RenewLock")
        assert caught.value.code is ErrorCode.LOCK_NOT_HELD
    await injector.maybe_fail(header, "RenewLock")


async def test_an_rpc_filter_counts_and_fails_only_calls_of_that_rpc() -> None:
    injector = FaultInjector()
    header = {faults.HEADER: "k;1;UNAVAILABLE;RenewLock"}
    await injector.maybe_fail(header, "AcquireLock")  # another RPC: untouched, not counted
    with pytest.raises(ConcordError):
        await injector.maybe_fail(header, "RenewLock")
    await injector.maybe_fail(header, "RenewLock")  # the budget of one is spent


async def test_a_delay_fault_waits_then_lets_the_call_run(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)  # the module faults.py sleeps with
    injector = FaultInjector()
    header = {faults.HEADER: "k;1;delay=1500;HeartbeatTask"}
    await injector.maybe_fail(header, "HeartbeatTask")
    await injector.maybe_fail(header, "HeartbeatTask")
    assert waits == [1.5]


@pytest.mark.parametrize(
    ("fault", "end"), [("cut=2", StreamEnd(2)), ("drain=0", StreamEnd(0, drained=True))]
)
async def test_a_stream_end_fault_applies_to_stream_opens_only(fault: str, end: StreamEnd) -> None:
    injector = FaultInjector()
    header = {faults.HEADER: f"k;1;{fault}"}
    assert await injector.maybe_fail(header, "GetStreamMetadata") is None  # not counted
    assert await injector.maybe_fail(header, "SubscribeToStream", streaming=True) == end
    assert await injector.maybe_fail(header, "SubscribeToStream", streaming=True) is None


@pytest.mark.parametrize(
    "spec",
    [
        "k;1;NOT_A_CODE",
        "k;x;UNAVAILABLE",
        "k;1;delay=abc",
        "k;1;UNAVAILABLE;Renew-Lock",
        "k;1;drain=x",
    ],
)
async def test_a_malformed_header_is_invalid_argument(spec: str) -> None:
    with pytest.raises(ConcordError) as caught:
        await FaultInjector().maybe_fail({faults.HEADER: spec}, "GetLock")
    assert caught.value.code is ErrorCode.INVALID_ARGUMENT
