"""Server settings from etcd (`CONCORD_CONFIG_URL`), layered over the environment at start.

Precedence, highest first: etcd > environment > `.env` > defaults. One key per setting under the
URL's prefix, named exactly like the Settings field (`<prefix>rate_limit_burst` = `2`); list
settings hold JSON (`cors_origins` = `["https://a.example"]`). An unknown key or a value that fails
validation stops the start with an error naming the key. Values are never logged, only key names.
Changes apply at the next start, except `log_level`, which config_watch.py follows live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from concord_server.backends.connections import url_option
from concord_server.backends.etcd.client import EtcdClient
from concord_server.config import Settings

log = logging.getLogger("concord.config")

DEFAULT_PREFIX = "/concord/config/"
# Settings that make no sense from etcd: where the configuration itself lives.
NOT_FROM_ETCD = frozenset({"config_url"})

Fetcher = Callable[[str], Mapping[str, str]]


class ConfigError(Exception):
    """The configuration in etcd cannot be used; the message names the key."""


def config_prefix(url: str) -> str:
    """The key prefix of a config URL (`?prefix=`, default `/concord/config/`), ending in `/`."""
    prefix = url_option(url, "prefix", DEFAULT_PREFIX)
    return prefix if prefix.endswith("/") else prefix + "/"


async def read_etcd(url: str) -> dict[str, str]:
    """Every key under the config URL's prefix with its value, keyed by the full etcd key."""
    parts = urlsplit(url)
    if parts.scheme != "etcd" or not parts.netloc:
        raise ConfigError(f"CONCORD_CONFIG_URL must be etcd://host:port[?prefix=…], got {url!r}")
    client = EtcdClient(f"http://{parts.netloc}")
    try:
        kvs, _ = await client.get_prefix(config_prefix(url))
    except Exception as exc:
        raise ConfigError(f"cannot read configuration from etcd at {parts.netloc}: {exc}") from exc
    finally:
        await client.close()
    return {kv.key: kv.value for kv in kvs}


def fetch_etcd(url: str) -> dict[str, str]:
    """`read_etcd` for synchronous callers (the server's `main`, before its event loop runs)."""
    return asyncio.run(read_etcd(url))


class EtcdSettingsSource(PydanticBaseSettingsSource):
    """A pydantic-settings source over fetched etcd keys: names checked, JSON lists decoded."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, str], prefix: str):
        super().__init__(settings_cls)
        self._values = values
        self._prefix = prefix
        self.keys: dict[str, str] = {}  # field name -> etcd key

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The raw value of one field, if etcd holds it."""
        key = self.keys.get(field_name, "")
        return self._values.get(key), field_name, False

    def _field_names(self) -> dict[str, str]:
        """Maps each key to its field name; raises ConfigError for a key that names none."""
        fields = self.settings_cls.model_fields
        names: dict[str, str] = {}
        for key in sorted(self._values):
            name = key.removeprefix(self._prefix)
            if name not in fields or name in NOT_FROM_ETCD:
                raise ConfigError(
                    f"etcd key {key!r} names no setting: under {self._prefix!r} each key must be "
                    "a Settings field name such as rate_limit_burst"
                )
            names[name] = key
        return names

    def __call__(self) -> dict[str, Any]:
        """The decoded values, by field name."""
        self.keys = self._field_names()
        fields = self.settings_cls.model_fields
        decoded: dict[str, Any] = {}
        for name, key in self.keys.items():
            raw, _, is_complex = self.get_field_value(fields[name], name)
            try:
                decoded[name] = self.prepare_field_value(name, fields[name], raw, is_complex)
            except ValueError as exc:
                raise ConfigError(f"etcd key {key!r}: value is not valid JSON ({exc})") from None
        return decoded


def log_level_number(value: str) -> int | None:
    """The number of a level name such as `debug`, or None when it names no level."""
    level = logging.getLevelName(value.strip().upper())
    return level if isinstance(level, int) else None


def _validation_message(exc: ValidationError, keys: Mapping[str, str]) -> str:
    """One line per failing key, without the input (it may be a secret)."""
    lines = []
    for error in exc.errors(include_input=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        lines.append(f"etcd key {keys.get(name, name)!r}: {error['msg']}")
    return "; ".join(lines)


def load_settings(env: Settings | None = None, fetch: Fetcher = fetch_etcd) -> Settings:
    """The environment's settings, overridden by etcd when CONCORD_CONFIG_URL is set."""
    base = env if env is not None else Settings()
    if not base.config_url:
        return base
    prefix = config_prefix(base.config_url)
    source = EtcdSettingsSource(Settings, fetch(base.config_url), prefix)
    overrides = source()
    try:
        settings = Settings.model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, source.keys)) from None
    if "log_level" in overrides and log_level_number(settings.log_level) is None:
        raise ConfigError(f"etcd key {source.keys['log_level']!r}: not a log level (DEBUG, INFO…)")
    log.info("settings from etcd under %s: %s", prefix, ", ".join(sorted(overrides)) or "none")
    return settings
