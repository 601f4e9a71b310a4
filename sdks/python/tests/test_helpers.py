"""Lock holds over a mocked server: renewal schedule, retries, the lost signal, release.

Every wait is on an event with a generous timeout (never a timed assertion): TTLs are short
so that the background schedule runs quickly, and the mocked server says when it was called.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from concord import LockConflictError, LockLostError, LockNotHeldError, UnavailableError
from tests.helpers import LOCK, Recorder, error, ok

WAIT = 10.0  # generous: the waits below end as soon as the awaited thing happens


class LockServer:
    """Answers acquire / renew / release; `renew` and `release` may be scripted."""

    def __init__(
        self,
        renew: Callable[[int], httpx.Response] | None = None,
        release: Callable[[int], httpx.Response] | None = None,
        acquire_delay: float = 0.0,
    ) -> None:
        self.renew = renew or (lambda n: ok({"lock": LOCK}))
        self.release = release or (lambda n: ok({"lock": LOCK}))
        self.acquire_delay = acquire_delay
        self.counts = {"acquire": 0, "renew": 0, "release": 0}
        self.order: list[str] = []
        self.changed = threading.Condition()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        verb = request.url.path.rsplit(":", 1)[-1]
        with self.changed:
            self.counts[verb] += 1
            self.order.append(verb)
            number = self.counts[verb]
            self.changed.notify_all()
        if verb == "acquire":
            time.sleep(self.acquire_delay)
            return ok({"lock": LOCK})
        return self.renew(number) if verb == "renew" else self.release(number)

    def wait_for(self, verb: str, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.counts[verb] >= count, WAIT), self.counts


def hold_client(server: LockServer) -> Recorder:
    return Recorder(server)


def test_hold_acquires_renews_by_default_and_releases() -> None:
    server = LockServer()
    client = hold_client(server).client()
    with client.locks.hold("jobs", owner="w1", ttl=timedelta(milliseconds=300)) as lock:
        server.wait_for("renew", 2)
        assert lock.fencing_token == 7 and not lock.lost.is_set()
    assert server.order[0] == "acquire" and server.order[-1] == "release"


def test_transient_renewal_failures_are_retried_within_the_lease() -> None:
    server = LockServer(renew=lambda n: error(503, "UNAVAILABLE") if n <= 2 else ok({"lock": LOCK}))
    client = hold_client(server).client()
    with client.locks.hold("jobs", ttl=timedelta(seconds=6)) as lock:  # retries for ~2.8 s
        server.wait_for("renew", 3)
        lock.check()
    assert not lock.lost.is_set()


def test_renewals_failing_until_the_deadline_signal_lost_inside_the_block() -> None:
    server = LockServer(renew=lambda n: error(503, "UNAVAILABLE"))
    client = hold_client(server).client()
    with (
        pytest.raises(LockLostError) as caught,
        client.locks.hold("jobs", ttl=timedelta(seconds=3)) as lock,  # retries for ~1.4 s
    ):
        assert lock.lost.wait(WAIT)
        with pytest.raises(LockLostError):
            lock.check()
    assert isinstance(caught.value.cause, UnavailableError)
    assert server.counts["renew"] >= 2  # retried, not given up after one failure
    assert server.order[-1] == "release"  # the lock may still be ours: released all the same


def test_a_final_renewal_error_loses_the_hold_at_once_without_release() -> None:
    server = LockServer(renew=lambda n: error(409, "LOCK_NOT_HELD"))
    client = hold_client(server).client()
    with (
        pytest.raises(LockLostError) as caught,
        client.locks.hold("jobs", ttl=timedelta(seconds=3)) as lock,
    ):
        assert lock.lost.wait(WAIT)
    assert isinstance(caught.value.cause, LockNotHeldError)
    assert server.counts == {"acquire": 1, "renew": 1, "release": 0}


def test_a_hanging_renewal_does_not_delay_the_lost_signal() -> None:
    release_renewal = threading.Event()

    def hang(n: int) -> httpx.Response:
        release_renewal.wait(WAIT)
        return ok({"lock": LOCK})

    server = LockServer(renew=hang)
    client = hold_client(server).client(timeout=60.0)
    try:
        with (
            pytest.raises(LockLostError),
            client.locks.hold("jobs", ttl=timedelta(milliseconds=600)) as lock,
        ):
            assert lock.lost.wait(WAIT)
            assert not release_renewal.is_set()  # the renewal is still hanging
    finally:
        release_renewal.set()


def test_without_auto_renew_the_deadline_still_signals_lost() -> None:
    server = LockServer()
    client = hold_client(server).client()
    with (
        pytest.raises(LockLostError),
        client.locks.hold("jobs", ttl=timedelta(milliseconds=200), auto_renew=False) as lock,
    ):
        assert lock.lost.wait(WAIT)
    assert server.counts["renew"] == 0


def test_a_release_finding_the_lock_gone_raises_lock_lost() -> None:
    server = LockServer(release=lambda n: error(409, "LOCK_EXPIRED"))
    client = hold_client(server).client()
    with pytest.raises(LockLostError), client.locks.hold("jobs", auto_renew=False):
        pass


def test_the_release_is_retried_with_one_idempotency_key() -> None:
    server = LockServer(release=lambda n: error(503, "UNAVAILABLE") if n == 1 else ok({}))
    recorder = hold_client(server)
    with recorder.client().locks.hold("jobs", auto_renew=False):
        pass
    keys = {
        r.headers["idempotency-key"] for r in recorder.requests if r.url.path.endswith(":release")
    }
    assert server.counts["release"] == 2 and len(keys) == 1


@pytest.mark.parametrize("max_retries", [0, 1, 2])
def test_the_release_retries_as_the_client_does(max_retries: int) -> None:
    # docs/sdk-helpers.md §1.4: the SDK's retries (its max_retries), within the 5 s budget.
    server = LockServer(release=lambda n: error(503, "UNAVAILABLE"))
    client = hold_client(server).client(max_retries=max_retries)
    with client.locks.hold("jobs", auto_renew=False):
        pass
    assert server.counts["release"] == 1 + max_retries


def test_the_block_error_wins_and_carries_the_loss() -> None:
    server = LockServer(release=lambda n: error(409, "LOCK_NOT_HELD"))
    client = hold_client(server).client()
    with (
        pytest.raises(RuntimeError, match="work failed") as caught,
        client.locks.hold("jobs", auto_renew=False),
    ):
        raise RuntimeError("work failed")
    notes = getattr(caught.value, "__notes__", [])
    assert notes == [] or "lost" in notes[0]


def test_a_late_grant_is_confirmed_by_a_renewal_before_the_block() -> None:
    server = LockServer(acquire_delay=0.25)
    client = hold_client(server).client()
    with client.locks.hold("jobs", ttl=timedelta(milliseconds=600)):
        assert server.order[:2] == ["acquire", "renew"]


def test_a_conflict_raises_without_release() -> None:
    recorder = Recorder(error(409, "LOCK_CONFLICT"))
    with pytest.raises(LockConflictError), recorder.client().locks.hold("jobs"):
        pytest.fail("must not enter")
    assert len(recorder.requests) == 1


def test_wait_timeout_extends_the_acquire_timeout() -> None:
    recorder = Recorder(LockServer())
    with recorder.client(timeout=10.0).locks.hold(
        "jobs", wait_timeout=timedelta(seconds=20), auto_renew=False
    ):
        pass
    assert json.loads(recorder.requests[0].content)["wait_timeout"] == "20s"
    assert recorder.requests[0].extensions["timeout"]["read"] == 30.0  # the wait + the timeout


def test_async_lost_cancels_the_block_and_raises_lock_lost() -> None:
    server = LockServer(renew=lambda n: error(409, "LOCK_NOT_HELD"))

    async def run() -> str:
        async with hold_client(server).async_client() as client:
            try:
                async with client.locks.hold("jobs", ttl=timedelta(seconds=3)):
                    await asyncio.sleep(WAIT)
                    return "not cancelled"
            except LockLostError as lost:
                return type(lost.cause).__name__

    assert asyncio.run(run()) == "LockNotHeldError"


def test_async_release_runs_when_the_caller_cancels() -> None:
    server = LockServer()

    async def run() -> None:
        async with hold_client(server).async_client() as client:
            entered = asyncio.Event()

            async def block() -> None:
                async with client.locks.hold("jobs", ttl=timedelta(seconds=30)):
                    entered.set()
                    await asyncio.sleep(WAIT)

            task = asyncio.create_task(block())
            await asyncio.wait_for(entered.wait(), WAIT)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(run())
    assert server.order == ["acquire", "release"]


@pytest.mark.parametrize("max_retries", [0, 1])
def test_async_release_retries_as_the_client_does(max_retries: int) -> None:
    server = LockServer(release=lambda n: error(503, "UNAVAILABLE"))

    async def run() -> None:
        async with hold_client(server).async_client(max_retries=max_retries) as client:
            hold = client.locks.hold("jobs", auto_renew=False)
            async with hold:
                pass

    asyncio.run(run())
    assert server.counts["release"] == 1 + max_retries
