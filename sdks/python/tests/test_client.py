"""Client configuration: auth and base URL from env, headers, timeouts, raw responses, logs."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx
import pytest

from concord import AsyncConcord, Concord, RawResponse, __version__
from concord._core.logging import REDACTED, redact, redact_headers, setup_logging
from tests.helpers import LOCK, Recorder, ok


def test_api_key_and_base_url_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_API_KEY", "env-key")
    monkeypatch.setenv("CONCORD_BASE_URL", "http://concord.test:9000/")
    monkeypatch.delenv("CONCORD_BEARER_TOKEN", raising=False)
    rec = Recorder(ok({"lock": LOCK}))
    rec.client(api_key=None).locks.get("jobs")
    request = rec.requests[0]
    assert request.headers["x-api-key"] == "env-key" and "authorization" not in request.headers
    assert str(request.url) == "http://concord.test:9000/v1/locks/jobs"


def test_bearer_token_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONCORD_API_KEY", raising=False)
    monkeypatch.setenv("CONCORD_BEARER_TOKEN", "jwt.token.sig")
    rec = Recorder(ok({"lock": LOCK}))
    rec.client(api_key=None).locks.get("jobs")
    assert rec.requests[0].headers["authorization"] == "Bearer jwt.token.sig"


def test_explicit_credentials_beat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_BEARER_TOKEN", "env-token")
    rec = Recorder(ok({"lock": LOCK}))
    rec.client(api_key="arg-key").locks.get("jobs")
    assert rec.requests[0].headers["x-api-key"] == "arg-key"
    assert "authorization" not in rec.requests[0].headers


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CONCORD_API_KEY", "CONCORD_BEARER_TOKEN", "CONCORD_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    client = Concord()
    assert client.base_url == "http://127.0.0.1:8080" and client.max_retries == 2
    assert client.credentials.headers() == {}
    client.close()


def test_user_agent_and_headers() -> None:
    rec = Recorder(ok({"lock": LOCK}))
    client = rec.client(extra_headers={"X-Team": "a", "X-Both": "client"})
    client.locks.get("jobs", extra_headers={"X-Both": "call"})
    headers = rec.requests[0].headers
    assert headers["user-agent"] == f"concord-python/{__version__}"
    assert (headers["x-team"], headers["x-both"]) == ("a", "call")


def test_client_and_call_timeouts() -> None:
    rec = Recorder(ok({"lock": LOCK}))
    client = rec.client(timeout=5.0)
    client.locks.get("jobs")
    client.locks.get("jobs", timeout=1.5)
    client.locks.get("jobs", timeout=None)
    timeouts = [r.extensions["timeout"] for r in rec.requests]
    assert timeouts[0]["read"] == 5.0 and timeouts[1]["read"] == 1.5 and timeouts[2]["read"] is None


def test_streams_only_bound_connecting() -> None:
    rec = Recorder(httpx.Response(200, text=""))
    list(rec.client(timeout=5.0).locks.watch())
    assert rec.requests[0].extensions["timeout"] == {
        "connect": 5.0,
        "read": None,
        "write": 5.0,
        "pool": 5.0,
    }


def test_raw_response() -> None:
    rec = Recorder(ok({"lock": LOCK}, **{"X-Request-ID": "rid"}))
    client = rec.client()
    raw = client.with_raw_response.locks.acquire("jobs", "w1", timedelta(seconds=30))
    assert isinstance(raw, RawResponse) and raw.status_code == 200
    assert raw.request_id == "rid" and raw.headers["content-type"] == "application/json"
    assert raw.parsed.lock is not None and raw.parsed.lock.fencing_token == 7
    plain = client.locks.get("jobs")
    assert not isinstance(plain, RawResponse)


def test_async_client_same_surface() -> None:
    async def run() -> None:
        rec = Recorder(httpx.Response(503), ok({"lock": LOCK}))
        async with rec.async_client() as client:
            lock = (await client.locks.acquire("jobs", owner="w1", ttl=timedelta(seconds=3))).lock
            raw = await client.with_raw_response.locks.get("jobs")
        assert lock is not None and lock.fencing_token == 7 and raw.status_code == 200
        keys = {r.headers.get("idempotency-key") for r in rec.requests[:2]}
        assert len(keys) == 1 and None not in keys and len(rec.sleeps) == 1

    asyncio.run(run())
    sync_names = {n for n in dir(Concord) if not n.startswith("_")}
    async_names = {n for n in dir(AsyncConcord) if not n.startswith("_")}
    assert sync_names == async_names


def test_redaction() -> None:
    headers = redact_headers({"X-API-Key": "k", "Authorization": "Bearer t", "Accept": "a"})
    assert headers == {"X-API-Key": REDACTED, "Authorization": REDACTED, "Accept": "a"}
    data = redact({"secret": "s", "nested": [{"access_token": "t"}], "note": "Bearer abc.def"})
    assert data == {
        "secret": REDACTED,
        "nested": [{"access_token": REDACTED}],
        "note": f"Bearer {REDACTED}",
    }


def test_debug_logging_never_shows_credentials(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CONCORD_LOG", "debug")
    setup_logging()
    assert logging.getLogger("concord").level == logging.DEBUG
    rec = Recorder(ok({"lock": LOCK}))
    with caplog.at_level(logging.DEBUG, logger="concord"):
        rec.client(api_key="super-secret-key").locks.get("jobs")
        rec.client(api_key=None, bearer_token="jwt-secret").locks.get("jobs")
    text = caplog.text
    assert "/v1/locks/jobs" in text and REDACTED in text
    assert "super-secret-key" not in text and "jwt-secret" not in text
    logging.getLogger("concord").setLevel(logging.NOTSET)


def test_copies_share_the_pool_the_original_opened_and_closes() -> None:
    client = Concord(base_url="http://concord.test")
    assert client._http_client is None  # opened at the first HTTP call, not before
    copy = client.with_options(max_retries=0)
    pool = client._http_client
    assert pool is not None and copy._http is pool
    copy.close()
    assert not pool.is_closed
    client.close()
    assert pool.is_closed
