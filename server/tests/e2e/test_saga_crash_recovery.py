"""A server killed (SIGKILL) mid-saga resumes it after restart: it ends completed or compensated."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import engine_url, isolated
from tests.e2e.callbacks import CallbackServer
from tests.e2e.live import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def callbacks() -> Iterator[CallbackServer]:
    """Step targets: `slow` answers after 3 s, so a kill lands while it runs."""
    server = CallbackServer(delays={"slow": 3.0}, statuses={"refuse": 400}).start()
    yield server
    server.stop()


def _step(name: str, callbacks: CallbackServer, action: str, undo: str | None) -> dict[str, Any]:
    step: dict[str, Any] = {
        "name": name,
        "action": {"http": {"url": callbacks.url(action)}},
        "retry": {"max_attempts": 3, "initial_backoff": "0.1s", "timeout": "10s"},
    }
    if undo:
        step["compensation"] = {"http": {"url": callbacks.url(undo)}}
    return step


def _wait_state(
    client: httpx.Client, saga_id: str, states: set[str], seconds: float
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    saga: dict[str, Any] = {}
    while time.monotonic() < deadline:
        saga = client.get(f"/v1/sagas/{saga_id}").raise_for_status().json()["saga"]
        if saga["state"] in states:
            return saga
        time.sleep(0.2)
    raise AssertionError(f"saga {saga_id} stuck in {saga.get('state')}: {saga}")


def _crash_and_resume(
    server: LiveServer, callbacks: CallbackServer, steps: list[dict[str, Any]]
) -> dict[str, Any]:
    with server.client() as client:
        body = {"saga_id": "order-1", "definition": {"name": "checkout", "steps": steps}}
        client.post("/v1/sagas", json=body).raise_for_status()
        deadline = time.monotonic() + 15
        while "slow" not in callbacks.paths() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "slow" in callbacks.paths(), "the slow step never started"
    server.kill()
    server.start()
    with server.client() as client:
        return _wait_state(client, "order-1", {"COMPLETED", "COMPENSATED", "FAILED"}, 60)


def _same_key_per_step_phase(callbacks: CallbackServer) -> None:
    """Every call of one step phase, before and after the crash, carries one Idempotency-Key;
    different phases carry different keys (issue 7 finding 9)."""
    keys: dict[str, set[str]] = {}
    for call in callbacks.calls:
        assert call["key"], f"{call['path']} was called without an Idempotency-Key"
        keys.setdefault(call["path"], set()).add(call["key"])
    assert all(len(found) == 1 for found in keys.values()), keys
    assert callbacks.paths().count("slow") >= 2, "the crash did not re-deliver the slow step"
    distinct = [next(iter(found)) for found in keys.values()]
    assert len(set(distinct)) == len(distinct), keys


def _run(data_dir: Path, env: dict[str, str], callbacks: CallbackServer, fail_last: bool) -> None:
    steps = [
        _step("reserve", callbacks, "reserve", "unreserve"),
        _step("charge", callbacks, "slow", "refund"),
        _step("ship", callbacks, "refuse" if fail_last else "ship", None),
    ]
    server = LiveServer(data_dir, env_overrides=env)
    server.start()
    try:
        saga = _crash_and_resume(server, callbacks, steps)
    finally:
        server.stop()
    _same_key_per_step_phase(callbacks)
    if fail_last:
        assert saga["state"] == "COMPENSATED", saga
        calls = callbacks.paths()
        assert calls.index("refund") < calls.index("unreserve"), calls
    else:
        assert saga["state"] == "COMPLETED", saga
        assert callbacks.paths()[-1] == "ship"


@pytest.mark.parametrize("fail_last", [False, True], ids=["completes", "compensates"])
def test_embedded_server_resumes_saga_after_kill(
    tmp_path: Path, callbacks: CallbackServer, fail_last: bool
) -> None:
    _run(tmp_path / "data", {}, callbacks, fail_last)


@pytest.mark.postgres
@pytest.mark.parametrize("fail_last", [False, True], ids=["completes", "compensates"])
def test_postgres_server_resumes_saga_after_kill(
    tmp_path: Path, callbacks: CallbackServer, fail_last: bool
) -> None:
    env = {"CONCORD_SAGAS_URL": isolated(engine_url("postgres"), "postgres")}
    _run(tmp_path / "data", env, callbacks, fail_last)
