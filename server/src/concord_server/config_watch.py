"""Live `log_level` from etcd: the one setting applied without a restart (CONCORD_CONFIG_URL)."""

from __future__ import annotations

import asyncio
import logging
import threading
from urllib.parse import urlsplit

from concord_server.backends.etcd.client import EtcdClient, WatchEvent
from concord_server.config_sources import config_prefix, log_level_number

log = logging.getLogger("concord.config")

LIVE_KEY = "log_level"
RETRY_SECONDS = 2.0


def apply_log_level(source: str, value: str, target: logging.Logger) -> None:
    """Sets the level of `target` (the root logger) to `value`, which `source` gave (an etcd
    key, say); keeps the current level when `value` names none."""
    level = log_level_number(value)
    if level is None:
        log.error("%s: %r is not a log level; keeping the current level", source, value)
        return
    if target.level != level:
        target.setLevel(level)
        log.warning("log level is now %s (%s)", logging.getLevelName(level), source)


def _on_event(event: WatchEvent, prefix: str, target: logging.Logger, fallback: str) -> None:
    """Applies a new log level (the environment's when the key is deleted); any other change
    only takes effect at the next start."""
    if event.kv.key != prefix + LIVE_KEY:
        log.warning("etcd key %r changed: restart the server to apply it", event.kv.key)
    elif event.kind == "DELETE":
        apply_log_level(f"etcd key {event.kv.key!r} deleted: the environment's", fallback, target)
    else:
        apply_log_level(f"etcd key {event.kv.key!r}", event.kv.value, target)


async def _follow(client: EtcdClient, prefix: str, target: logging.Logger, fallback: str) -> None:
    """Applies the current level (the environment's when etcd has none, also after a key
    deleted while the watch was down), then every change, until the watch ends or fails."""
    kvs, revision = await client.get_prefix(prefix)
    values = {kv.key: kv.value for kv in kvs}
    key = prefix + LIVE_KEY
    if key in values:
        apply_log_level(f"etcd key {key!r}", values[key], target)
    else:
        apply_log_level(f"no etcd key {key!r}: the environment's", fallback, target)
    async for batch in client.watch(prefix, revision + 1):
        if batch.canceled:
            return
        for event in batch.events:
            _on_event(event, prefix, target, fallback)


async def watch_log_level(
    url: str, target: logging.Logger | None = None, fallback: str = "INFO"
) -> None:
    """Follows the config prefix until cancelled, reconnecting after failures; `fallback` is
    the level without etcd's key (the environment's, else the default)."""
    client = EtcdClient(f"http://{urlsplit(url).netloc}")
    prefix = config_prefix(url)
    try:
        while True:
            try:
                await _follow(client, prefix, target or logging.getLogger(), fallback)
            except Exception as exc:
                log.warning("watching configuration in etcd failed (%s); retrying", exc)
            await asyncio.sleep(RETRY_SECONDS)
    finally:
        await client.close()


def start_log_level_watch(url: str, fallback: str) -> threading.Thread:
    """Runs `watch_log_level` on a daemon thread with its own event loop."""
    thread = threading.Thread(
        target=lambda: asyncio.run(watch_log_level(url, fallback=fallback)),
        name="concord-config-watch",
        daemon=True,
    )
    thread.start()
    return thread
