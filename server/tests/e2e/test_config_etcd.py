"""A real server whose settings come from etcd (CONCORD_CONFIG_URL), over the environment."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from concord_server.config_sources import config_prefix
from tests.conftest import engine_url, isolated
from tests.e2e.live import LiveServer
from tests.unit.test_config_sources import put_config

pytestmark = [pytest.mark.slow, pytest.mark.etcd]


def config_url(values: dict[str, str]) -> str:
    """An isolated config URL whose prefix holds `values`."""
    url = isolated(engine_url("etcd"), "etcd")
    asyncio.run(put_config(url, values))
    return url


def test_rate_limit_from_etcd(tmp_path: Path) -> None:
    url = config_url({"rate_limit_burst": "2", "rate_limit_per_second": "0.01"})
    env = {
        "CONCORD_CONFIG_URL": url,
        "CONCORD_RATE_LIMIT_BURST": "400",
        "CONCORD_RATE_LIMIT_PER_SECOND": "200",
    }
    server = LiveServer(tmp_path / "data", env_overrides=env).start()
    try:
        with server.client() as client:
            answers = [client.get("/v1/locks/config-e2e") for _ in range(3)]
    finally:
        server.stop()
    assert [a.status_code == 429 for a in answers] == [False, False, True]
    assert answers[2].json()["code"] == "RATE_LIMITED"
    logs = [json.loads(line) for line in server.log_tail(400).splitlines() if line[:1] == "{"]
    loaded = [entry["message"] for entry in logs if entry["logger"] == "concord.config"]
    prefix = config_prefix(url)
    assert loaded == [f"settings from etcd under {prefix}: rate_limit_burst, rate_limit_per_second"]


def test_unknown_key_stops_the_start(tmp_path: Path) -> None:
    url = config_url({"rate_limit_brust": "2"})
    server = LiveServer(tmp_path / "data", env_overrides={"CONCORD_CONFIG_URL": url})
    with pytest.raises(RuntimeError, match="exited early"):
        server.start()
    assert server.process is not None and server.process.returncode == 2
    assert f"{config_prefix(url)}rate_limit_brust" in server.log_tail()
