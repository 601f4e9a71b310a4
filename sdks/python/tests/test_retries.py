"""Retries: which failures, how long to wait (backoff, Retry-After), idempotency keys."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from concord import APIConnectionError, APITimeoutError, InvalidArgumentError, UnavailableError
from concord._core import retries
from tests.helpers import LOCK, Recorder, error, ok


def test_unavailable_twice_then_success() -> None:
    rec = Recorder(error(503, "UNAVAILABLE"), error(503, "UNAVAILABLE"), ok({"lock": LOCK}))
    lock = rec.client().locks.get("jobs").lock
    assert lock is not None and lock.fencing_token == 7
    assert len(rec.requests) == 3
    assert len(rec.sleeps) == 2 and 0.375 <= rec.sleeps[0] <= 0.5 and 0.75 <= rec.sleeps[1] <= 1.0


def test_gives_up_after_max_retries() -> None:
    rec = Recorder(error(503, "UNAVAILABLE"))
    with pytest.raises(UnavailableError) as caught:
        rec.client(max_retries=3).locks.get("jobs")
    assert len(rec.requests) == 4
    assert caught.value.status == 503


def test_max_retries_zero_sends_once() -> None:
    rec = Recorder(error(500, "INTERNAL"), ok({"lock": LOCK}))
    with pytest.raises(Exception, match="INTERNAL"):
        rec.client(max_retries=0).locks.get("jobs")
    assert len(rec.requests) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    rec = Recorder(httpx.Response(status), ok({"lock": LOCK}))
    rec.client().locks.get("jobs")
    assert len(rec.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412, 413])
def test_final_statuses_are_not_retried(status: int) -> None:
    rec = Recorder(httpx.Response(status), ok({"lock": LOCK}))
    with pytest.raises(Exception, match=str(status)):
        rec.client().locks.get("jobs")
    assert len(rec.requests) == 1


def test_retry_after_seconds_is_honoured() -> None:
    rec = Recorder(error(429, "RATE_LIMITED", **{"Retry-After": "3"}), ok({"lock": LOCK}))
    rec.client().locks.get("jobs")
    assert rec.sleeps == [3.0]


def test_retry_after_zero_and_http_date() -> None:
    assert retries.retry_delay(0, httpx.Headers({"retry-after": "0"})) == 0.0
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert retries.retry_delay(0, httpx.Headers({"retry-after": past})) == 0.0
    assert retries.retry_after(httpx.Headers({"retry-after-ms": "250"})) == 0.25


def test_absurd_retry_after_falls_back_to_backoff() -> None:
    delay = retries.retry_delay(1, httpx.Headers({"retry-after": "3600"}), rand=lambda: 0.0)
    assert delay == 1.0


def test_backoff_grows_and_is_capped_with_jitter() -> None:
    assert [retries.backoff(n, rand=lambda: 0.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    assert retries.backoff(0, rand=lambda: 1.0) == 0.375


def test_non_idempotent_call_carries_one_key_across_retries() -> None:
    rec = Recorder(error(503, "UNAVAILABLE"), httpx.ConnectError("reset"), ok({"lock": LOCK}))
    rec.client().locks.acquire("jobs", "w1", timedelta(seconds=30))
    keys = [r.headers.get("idempotency-key") for r in rec.requests]
    assert len(keys) == 3 and keys[0] is not None and len(set(keys)) == 1
    uuid.UUID(keys[0], version=4)


def test_each_call_gets_a_new_key_and_a_given_key_is_used() -> None:
    rec = Recorder(ok({"lock": LOCK}))
    client = rec.client()
    client.locks.acquire("jobs", "w1", timedelta(seconds=30))
    client.locks.acquire("jobs", "w1", timedelta(seconds=30))
    client.locks.acquire("jobs", "w1", timedelta(seconds=30), idempotency_key="mine")
    keys = [r.headers["idempotency-key"] for r in rec.requests]
    assert keys[0] != keys[1] and keys[2] == "mine"


def test_idempotent_calls_carry_no_key() -> None:
    rec = Recorder(ok({"lock": LOCK}))
    rec.client().locks.get("jobs")
    assert "idempotency-key" not in rec.requests[0].headers


def test_connection_errors_are_retried_then_raised() -> None:
    rec = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as caught:
        rec.client(max_retries=2).locks.get("jobs")
    assert not isinstance(caught.value, APITimeoutError)
    assert len(rec.requests) == 3


def test_timeouts_raise_api_timeout_error() -> None:
    rec = Recorder(httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError):
        rec.client(max_retries=1).locks.get("jobs")
    assert len(rec.requests) == 2


def test_invalid_argument_is_final() -> None:
    rec = Recorder(error(400, "INVALID_ARGUMENT"))
    with pytest.raises(InvalidArgumentError):
        rec.client().locks.acquire("jobs", "", timedelta(seconds=1))
    assert len(rec.requests) == 1


def test_negative_max_retries_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        Recorder().client(max_retries=-1)
