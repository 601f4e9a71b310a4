"""A setting from the environment that fails validation, or that no store or key can serve,
stops the start with exit code 2 and one error naming it, never a traceback (server/README.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CONCORD_HTTP_PORT", "abc"),
        ("CONCORD_WORKERS", "0"),
        ("CONCORD_LOG_LEVEL", "LOUD"),
        ("CONCORD_CORS_ORIGINS", "https://a.example"),  # a list setting is JSON
        ("CONCORD_SHUTDOWN_GRACE_SECONDS", "-1"),
        ("CONCORD_LOCKS_URL", "foo://user:secret@host"),  # no such store; the URL not logged
        ("CONCORD_EVENTS_URL", "redis://127.0.0.1:1"),  # no event log on Redis
        ("CONCORD_JWT_ALGORITHM", "RS256"),  # without a key
        ("CONCORD_JWT_ALGORITHM", "HS999"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    env = {**os.environ, "CONCORD_DATA_DIR": str(tmp_path), "CONCORD_GRPC_PORT": "-1"}
    env[variable] = value
    done = subprocess.run(
        [sys.executable, "-m", "concord_server"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR"
    named = "CONCORD_JWT_*" if variable.startswith("CONCORD_JWT_") else variable
    assert record["message"].startswith(f"configuration error: {named}: "), record
    assert "secret" not in record["message"]
