"""`python -m concord_server`: REST + WebSocket on CONCORD_HTTP_PORT, gRPC on CONCORD_GRPC_PORT."""

from __future__ import annotations

import logging

import uvicorn

from concord_server.api.rest.http_protocol import http_protocol
from concord_server.app import create_app
from concord_server.config import Settings
from concord_server.config_sources import ConfigError, load_settings
from concord_server.config_watch import start_log_level_watch
from concord_server.logs import configure_logging

log = logging.getLogger("concord.main")


def _settings() -> Settings:
    """Settings from the environment, then etcd (CONCORD_CONFIG_URL); exits on a bad key."""
    env = Settings()
    configure_logging(env.log_level)
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    return settings


def main() -> None:
    """Runs the server until interrupted."""
    settings = _settings()
    if settings.config_url:
        start_log_level_watch(settings.config_url)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        ws_max_size=settings.max_body_bytes,
        http=http_protocol(),
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
