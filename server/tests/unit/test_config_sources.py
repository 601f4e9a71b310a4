"""Settings from etcd: precedence over the environment, strict keys, validation naming the key."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from concord_server.backends.etcd.client import b64
from concord_server.config import Settings
from concord_server.config_sources import (
    ConfigError,
    config_prefix,
    load_settings,
    read_etcd,
)
from concord_server.config_watch import watch_log_level
from tests.conftest import engine_url, isolated

URL = "etcd://127.0.0.1:2379?prefix=/concord/config/"
P = "/concord/config/"


def env_settings(tmp_path: Path, **values: object) -> Settings:
    """Settings as the environment would give them, with the config URL set."""
    return Settings(data_dir=tmp_path, config_url=URL, **values)  # type: ignore[arg-type]


def load(base: Settings, values: Mapping[str, str]) -> Settings:
    """load_settings with a fake fetcher."""
    return load_settings(base, fetch=lambda url: dict(values))


def test_off_without_config_url(tmp_path: Path) -> None:
    base = Settings(data_dir=tmp_path)

    def never(url: str) -> dict[str, str]:
        raise AssertionError("no fetch without CONCORD_CONFIG_URL")

    assert load_settings(base, fetch=never) is base


def test_etcd_overrides_environment_and_keeps_the_rest(tmp_path: Path) -> None:
    base = env_settings(tmp_path, rate_limit_per_second=5, rate_limit_burst=9, log_level="DEBUG")
    got = load(base, {P + "rate_limit_per_second": "50", P + "rate_limit_burst": "60"})
    assert (got.rate_limit_per_second, got.rate_limit_burst) == (50.0, 60)
    assert got.log_level == "DEBUG" and got.data_dir == tmp_path and got.config_url == URL


def test_etcd_overrides_real_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONCORD_RATE_LIMIT_BURST", "7")
    monkeypatch.setenv("CONCORD_MAX_BODY_BYTES", "1234")
    monkeypatch.setenv("CONCORD_CONFIG_URL", URL)
    got = load_settings(fetch=lambda url: {P + "rate_limit_burst": "3"})
    assert (got.rate_limit_burst, got.max_body_bytes) == (3, 1234)


def test_json_list_values(tmp_path: Path) -> None:
    origins = '["https://a.example", "https://b.example"]'
    got = load(env_settings(tmp_path), {P + "cors_origins": origins})
    assert got.cors_origins == ["https://a.example", "https://b.example"]


def test_unknown_key_stops_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="/concord/config/rate_limit_brust"):
        load(env_settings(tmp_path), {P + "rate_limit_brust": "2"})


def test_nested_key_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="/concord/config/old/rate_limit_burst"):
        load(env_settings(tmp_path), {P + "old/rate_limit_burst": "2"})


def test_config_url_cannot_come_from_etcd(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config_url"):
        load(env_settings(tmp_path), {P + "config_url": "etcd://elsewhere:2379"})


def test_bad_value_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'/concord/config/rate_limit_burst'.*integer"):
        load(env_settings(tmp_path), {P + "rate_limit_burst": "lots"})


def test_bad_json_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"/concord/config/cors_origins.*JSON"):
        load(env_settings(tmp_path), {P + "cors_origins": "https://a.example"})


def test_bad_value_error_does_not_echo_the_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(env_settings(tmp_path), {P + "max_body_bytes": "s3cret-value"})
    assert "s3cret-value" not in str(info.value)


def test_loaded_keys_are_logged_without_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="concord.config")
    got = load(
        env_settings(tmp_path), {P + "jwt_secret": "s3cret-value", P + "log_level": "WARNING"}
    )
    assert got.jwt_secret == "s3cret-value"
    assert "jwt_secret, log_level" in caplog.text
    assert "s3cret-value" not in caplog.text


@pytest.mark.parametrize(
    ("url", "prefix"),
    [
        ("etcd://h:2379", "/concord/config/"),
        ("etcd://h:2379?prefix=/a/b", "/a/b/"),
        ("etcd://h:2379?prefix=t1/", "t1/"),
    ],
)
def test_prefix(url: str, prefix: str) -> None:
    assert config_prefix(url) == prefix


async def test_not_an_etcd_url() -> None:
    with pytest.raises(ConfigError, match="etcd://host:port"):
        await read_etcd("redis://127.0.0.1:6379")


async def test_unreachable_etcd_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot read configuration"):
        await read_etcd("etcd://127.0.0.1:1?prefix=/x/")


async def put_config(url: str, values: Mapping[str, str]) -> None:
    """Writes keys under the config URL's prefix through the etcd JSON gateway."""
    prefix = config_prefix(url)
    async with httpx.AsyncClient(base_url=f"http://{urlsplit(url).netloc}") as http:
        for name, value in values.items():
            body = {"key": b64(prefix + name), "value": b64(value)}
            (await http.post("/v3/kv/put", json=body)).raise_for_status()


async def delete_config(url: str, name: str) -> None:
    """Deletes one key under the config URL's prefix through the etcd JSON gateway."""
    async with httpx.AsyncClient(base_url=f"http://{urlsplit(url).netloc}") as http:
        body = {"key": b64(config_prefix(url) + name)}
        (await http.post("/v3/kv/deleterange", json=body)).raise_for_status()


@pytest.mark.etcd
async def test_real_etcd(tmp_path: Path) -> None:
    url = isolated(engine_url("etcd"), "etcd")
    await put_config(
        url,
        {
            "rate_limit_burst": "2",
            "rate_limit_per_second": "0.01",
            "cors_origins": '["https://a.example"]',
        },
    )
    values = await read_etcd(url)
    got = load_settings(Settings(data_dir=tmp_path, config_url=url), fetch=lambda _: values)
    assert (got.rate_limit_burst, got.rate_limit_per_second) == (2, 0.01)
    assert got.cors_origins == ["https://a.example"]
    assert got.http_port == Settings().http_port


def test_log_level_must_name_a_level(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'/concord/config/log_level': not a log level"):
        load(env_settings(tmp_path), {P + "log_level": "LOUD"})
    assert load(env_settings(tmp_path), {P + "log_level": "debug"}).log_level == "debug"


async def wait_for_level(logger: logging.Logger, level: int) -> None:
    """Waits (up to 5 s) until the watcher has set `logger` to `level`."""
    for _ in range(100):
        if logger.level == level:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"level stayed {logger.level}, expected {level}")


@pytest.mark.etcd
async def test_log_level_follows_etcd_live(caplog: pytest.LogCaptureFixture) -> None:
    url = isolated(engine_url("etcd"), "etcd")
    await put_config(url, {"log_level": "ERROR"})
    target = logging.getLogger("concord.test.config-watch")
    watcher = asyncio.create_task(watch_log_level(url, target, fallback="critical"))
    try:
        await wait_for_level(target, logging.ERROR)
        await put_config(url, {"log_level": "debug"})
        await wait_for_level(target, logging.DEBUG)
        await put_config(url, {"log_level": "LOUD", "rate_limit_burst": "5"})
        await put_config(url, {"log_level": "WARNING"})
        await wait_for_level(target, logging.WARNING)
        await delete_config(url, "log_level")  # back to the level without etcd's key
        await wait_for_level(target, logging.CRITICAL)
        await put_config(url, {"log_level": "info"})
        await wait_for_level(target, logging.INFO)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    assert "'LOUD' is not a log level" in caplog.text
    assert "rate_limit_burst' changed: restart the server to apply it" in caplog.text
    assert "log_level' deleted: the environment's" in caplog.text


@pytest.mark.etcd
async def test_log_level_without_an_etcd_key_is_the_environments() -> None:
    url = isolated(engine_url("etcd"), "etcd")
    await put_config(url, {"rate_limit_burst": "5"})
    target = logging.getLogger("concord.test.config-watch-absent")
    target.setLevel(logging.DEBUG)  # as etcd's key had set it before the watch reconnected
    watcher = asyncio.create_task(watch_log_level(url, target, fallback="ERROR"))
    try:
        await wait_for_level(target, logging.ERROR)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
