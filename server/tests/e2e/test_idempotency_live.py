"""A real server: idempotent replay of AcquireLock, request logs and traceparent."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import engine_url, isolated
from tests.e2e.live import LiveServer

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_acquire_lock_is_replayed_for_a_repeated_key(live_server: LiveServer) -> None:
    with live_server.client() as client:
        body = {"owner": "host-1", "ttl": "30s"}
        headers = {"Idempotency-Key": "e2e-acquire-1"}
        first = client.post("/v1/locks/idem:acquire", json=body, headers=headers)
        again = client.post("/v1/locks/idem:acquire", json=body, headers=headers)
        assert first.status_code == again.status_code == 200, again.text
        assert first.json()["lock"]["fencing_token"] == again.json()["lock"]["fencing_token"]
        assert "idempotent-replayed" not in first.headers
        assert again.headers["Idempotent-Replayed"] == "true"

        reused = client.post(
            "/v1/locks/idem:acquire", json={**body, "owner": "host-2"}, headers=headers
        )
        assert reused.status_code == 400, reused.text
        assert reused.json()["details"] == {"reason": "idempotency_key_reused"}

        unkeyed = client.post("/v1/locks/idem:acquire", json={**body, "owner": "host-2"})
        assert unkeyed.status_code == 409, unkeyed.text
        assert unkeyed.json()["code"] == "LOCK_CONFLICT"


def _access_lines(server: LiveServer, request_id: str) -> list[dict[str, Any]]:
    """The access log lines of a request; the line follows the response, so wait for it."""
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(x) for x in server.log_path.read_text().splitlines() if x]
        found = [
            x for x in lines if x["logger"] == "concord.access" and x["request_id"] == request_id
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_requests_are_logged_with_their_trace(live_server: LiveServer) -> None:
    with live_server.client() as client:
        headers = {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01", "X-Request-ID": "e2e-7"}
        r = client.get("/v1/locks/traced", headers=headers)
        assert r.status_code == 404
        assert r.headers["traceparent"].split("-")[1] == TRACE
    [line] = _access_lines(live_server, "e2e-7")
    assert line["route"] == "/v1/locks/{name}" and line["status"] == 404
    assert line["trace_id"] == TRACE and line["method"] == "GET"
    assert line["subject"] and line["transport"] == "rest"


@pytest.mark.parametrize("engine", ["redis", "postgres"])
def test_a_retry_on_another_instance_is_replayed(engine: str, tmp_path: Path) -> None:
    pg = isolated(engine_url("postgres"), "postgres")
    env = {
        "CONCORD_IDEMPOTENCY_URL": isolated(engine_url(engine), engine),
        "CONCORD_LOCKS_URL": pg,
        "CONCORD_RBAC_URL": pg,
    }
    a = LiveServer(tmp_path / "a", env_overrides=env).start()
    try:
        b = LiveServer(tmp_path / "b", env_overrides=env).start()
        try:
            body = {"owner": "host-1", "ttl": "30s"}
            headers = {"Idempotency-Key": f"e2e-{engine}"}
            with a.client() as ca, b.client() as cb:
                first = ca.post("/v1/locks/shared:acquire", json=body, headers=headers)
                again = cb.post("/v1/locks/shared:acquire", json=body, headers=headers)
            assert first.status_code == again.status_code == 200, again.text
            assert first.json() == again.json()
            assert again.headers["Idempotent-Replayed"] == "true"
        finally:
            b.stop()
    finally:
        a.stop()
