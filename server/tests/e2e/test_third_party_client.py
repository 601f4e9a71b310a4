"""Our OpenAPI works with a generator nobody here wrote: openapi-python-client, live."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.e2e.live import ADMIN_KEY, LiveServer

pytestmark = pytest.mark.slow
OPENAPI = Path(__file__).resolve().parents[3] / "spec" / "openapi" / "openapi.yaml"


@pytest.fixture
def third_party_client(tmp_path: Path) -> ModuleType:
    """The package openapi-python-client generates from spec/openapi/openapi.yaml."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(OPENAPI),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "concord_client"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ruff is not in PATH" not in result.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module("concord_client")
    finally:
        sys.path.remove(str(tmp_path))


def _api(name: str) -> Any:
    return importlib.import_module(f"concord_client.api.{name}")


def test_generated_client_calls_the_live_server(
    third_party_client: ModuleType, live_server: LiveServer
) -> None:
    client = third_party_client.AuthenticatedClient(
        base_url=live_server.base_url, token=ADMIN_KEY, prefix="", auth_header_name="X-API-Key"
    )
    models = importlib.import_module("concord_client.models")
    live = _api("health_service.get_liveness").sync(client=client)
    assert live.status.value == "SERVING"

    body = models.AcquireLockBody(owner="third-party", ttl="30s")
    acquired = _api("lock_service.acquire_lock").sync("tp-lock", client=client, body=body)
    assert acquired.lock.fencing_token >= 1

    again = _api("lock_service.acquire_lock").sync_detailed(
        "tp-lock", client=client, body=models.AcquireLockBody(owner="other", ttl="30s")
    )
    assert again.status_code == 409
    assert again.parsed.code.value == "LOCK_CONFLICT"

    event = models.EventData(event_id=str(uuid.uuid4()), type_="Tested")
    appended = _api("event_service.append_to_stream").sync(
        "tp-stream", client=client, body=models.AppendToStreamBody(events=[event])
    )
    assert appended.revisions == [0]
    read = _api("event_service.read_stream").sync("tp-stream", client=client)
    assert [e.type_ for e in read.events] == ["Tested"]
