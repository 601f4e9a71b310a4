"""Schemathesis against a live server with the contract's OpenAPI: no 5xx, no schema violation."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.live import ADMIN_KEY, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

OPENAPI = Path(__file__).resolve().parents[3] / "spec" / "openapi" / "openapi.yaml"
EXAMPLES_PER_OPERATION = int(os.environ.get("CONCORD_SCHEMATHESIS_EXAMPLES", "25"))
# Streams stay open until the client leaves; Schemathesis would wait for them to end.
STREAMING = ["watchLocks", "subscribeToStream", "subscribeToAll", "watchCache", "watchService"]


@pytest.fixture
def fuzz_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server without rate limiting (the fuzzer sends thousands of requests)."""
    env = {
        "CONCORD_RATE_LIMIT_PER_SECOND": "0",
        "CONCORD_AUTH_FAILURE_RATE_PER_SECOND": "0",
        "CONCORD_LOG_LEVEL": "WARNING",
    }
    server = LiveServer(tmp_path / "data", env_overrides=env).start()
    yield server
    server.stop()


def test_no_server_errors_and_schema_conformant_responses(
    fuzz_server: LiveServer, tmp_path: Path
) -> None:
    junit = tmp_path / "schemathesis.xml"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(OPENAPI),
        "--url",
        fuzz_server.base_url,
        "--header",
        f"X-API-Key: {ADMIN_KEY}",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--phases",
        "examples,coverage,fuzzing",
        "--generation-with-security-parameters",
        "false",
        "--generation-deterministic",
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    for operation in STREAMING:
        command += ["--exclude-operation-id", operation]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks"}
    cwd = Path(__file__).resolve().parents[2]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=cwd)
    assert result.returncode == 0, (
        f"schemathesis failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}\n"
        f"server log:\n{fuzz_server.log_tail(60)}"
    )
