"""`python -m concord_server`: REST + WebSocket on CONCORD_HTTP_PORT, gRPC on CONCORD_GRPC_PORT."""

from __future__ import annotations

import uvicorn

from concord_server.app import create_app
from concord_server.config import Settings
from concord_server.logs import configure_logging


def main() -> None:
    """Runs the server until interrupted."""
    settings = Settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        ws_max_size=settings.max_body_bytes,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
