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


def apply_log_level(key: str, value: str, target: logging.Logger) -> None:
    """Sets the level of `target` (the root logger) from an etcd value; keeps it when invalid."""
    level = log_level_number(value)
    if level is None:
        log.error("etcd key %r: %r is not a log level; keeping the current level", key, value)
        return
    if target.level != level:
        target.setLevel(level)
        log.warning("log level is now %s (etcd key %r)", logging.getLevelName(level), key)


def _on_event(event: WatchEvent, prefix: str, target: logging.Logger) -> None:
    """Applies a new log level; any other change only takes effect at the next start."""
    if event.kv.key == prefix + LIVE_KEY and event.kind != "DELETE":
        apply_log_level(event.kv.key, event.kv.value, target)
    else:
        log.warning("etcd key %r changed: restart the server to apply it", event.kv.key)


async def _follow(client: EtcdClient, prefix: str, target: logging.Logger) -> None:
    """Applies the current level, then every change, until the watch ends or fails."""
    kvs, revision = await client.get_prefix(prefix)
    for kv in kvs:
        if kv.key == prefix + LIVE_KEY:
            apply_log_level(kv.key, kv.value, target)
    async for batch in client.watch(prefix, revision + 1):
        if batch.canceled:
            return
        for event in batch.events:
            _on_event(event, prefix, target)


async def watch_log_level(url: str, target: logging.Logger | None = None) -> None:
    """Follows the config prefix until cancelled, reconnecting after failures."""
    client = EtcdClient(f"http://{urlsplit(url).netloc}")
    prefix = config_prefix(url)
    try:
        while True:
            try:
                await _follow(client, prefix, target or logging.getLogger())
            except Exception as exc:
                log.warning("watching configuration in etcd failed (%s); retrying", exc)
            await asyncio.sleep(RETRY_SECONDS)
    finally:
        await client.close()


def start_log_level_watch(url: str) -> threading.Thread:
    """Runs `watch_log_level` on a daemon thread with its own event loop."""
    thread = threading.Thread(
        target=lambda: asyncio.run(watch_log_level(url)), name="concord-config-watch", daemon=True
    )
    thread.start()
    return thread
