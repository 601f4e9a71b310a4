"""Smoke test of the conformance adapter: two calls against a live server, then shutdown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ADAPTER = Path(__file__).resolve().parents[1] / "conformance" / "adapter.py"


def test_adapter_two_calls(live_url: str, live_key: str, unique: str) -> None:
    config = {
        "base_url": live_url,
        "api_key": live_key,
        "bearer_token": "",
        "max_retries": 2,
        "timeout_ms": 10000,
        "headers": {},
    }
    name = f"{unique}-adapter"
    lines = [
        {
            "type": "call",
            "id": "a/1",
            "client": "alice",
            "client_config": config,
            "op": "AcquireLock",
            "input": {"name": name, "owner": "alice", "ttl": "30s"},
        },
        {
            "type": "call",
            "id": "a/2",
            "client": "bob",
            "client_config": config,
            "op": "AcquireLock",
            "input": {"name": name, "owner": "bob", "ttl": "30s"},
        },
        {"type": "shutdown"},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    result = subprocess.run(
        [sys.executable, str(ADAPTER)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["id"] == "a/1" and first["outcome"] == "ok", first
    assert first["result"]["lock"]["owner"] == "alice"
    assert first["result"]["lock"]["ttl"] == "30s"
    assert second["id"] == "a/2" and second["outcome"] == "api_error", second
    error = second["error"]
    assert (error["code"], error["native_type"], error["http_status"]) == (
        "LOCK_CONFLICT",
        "LockConflictError",
        409,
    )
    assert error["request_id"]
