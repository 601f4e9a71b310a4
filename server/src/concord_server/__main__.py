"""`python -m concord_server`: REST + WebSocket on CONCORD_HTTP_PORT, gRPC on CONCORD_GRPC_PORT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import socket
import threading
from collections.abc import Iterator

import uvicorn
from pydantic import ValidationError

from concord_server import gc_tuning, preflight, tls, workers
from concord_server.api.rest.http_protocol import http_protocol
from concord_server.app import create_app
from concord_server.config import Settings
from concord_server.config_sources import ConfigError, load_settings, log_level_number
from concord_server.config_watch import start_log_level_watch
from concord_server.logs import configure_logging
from concord_server.runtime import Runtime

log = logging.getLogger("concord.main")
STREAMS_END_SECONDS = 5  # how long a drain waits for open streams to send their end
ANSWER_SECONDS = 3  # after the grace period: for the calls cut then to send their UNAVAILABLE


def _settings() -> tuple[Settings, str]:
    """Settings from the environment, then etcd (CONCORD_CONFIG_URL), and the environment's
    own log level (what a deleted etcd `log_level` key goes back to); exits on a bad key."""
    try:
        env = Settings()
        if log_level_number(env.log_level) is None:
            raise ValueError(
                f"CONCORD_LOG_LEVEL: not a log level (DEBUG, INFO…): {env.log_level!r}"
            )
    except ValueError as exc:  # pydantic's ValidationError, pydantic-settings' SettingsError
        configure_logging("INFO")
        log.error("configuration error: %s", _settings_error(exc))
        raise SystemExit(2) from None
    configure_logging(env.log_level)
    try:
        settings = load_settings(env)
        tls.check(settings)
        workers.check(settings)
        preflight.check(settings)
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    return settings, env.log_level


def _settings_error(exc: ValueError) -> str:
    """What is wrong with the environment's settings, naming each variable."""
    if not isinstance(exc, ValidationError):
        unparsed = re.search(r'field "(\w+)"', str(exc))  # pydantic-settings' SettingsError
        if unparsed is None:
            return str(exc)
        name = f"CONCORD_{unparsed[1].upper()}"
        return f'{name}: cannot be parsed (a list or map setting is JSON, as in ["a", "b"])'
    return "; ".join(
        f"CONCORD_{str(error['loc'][0]).upper() if error['loc'] else 'settings'}: {error['msg']}"
        for error in exc.errors()
    )


class DrainingServer(uvicorn.Server):
    """uvicorn's server whose shutdown (SIGTERM, SIGINT) drains the runtime first: readiness
    fails and streams end at once, while in-flight calls get the grace period to finish."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime, grace: int) -> None:
        super().__init__(config)
        self._runtime = runtime
        self._grace = grace

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Ends the open streams (each client gets its UNAVAILABLE before the connection
        closes), then drains gRPC while uvicorn finishes the HTTP requests in flight."""
        if not await self._runtime.drain_streams(min(STREAMS_END_SECONDS, self._grace)):
            log.warning("some streams did not end in %ss; closing them", STREAMS_END_SECONDS)
        cut = asyncio.get_running_loop().call_later(self._grace, self._cut_calls)
        grpc_done = asyncio.ensure_future(self._runtime.stop_grpc(self._grace + ANSWER_SECONDS))
        await super().shutdown(sockets)
        cut.cancel()
        await grpc_done
        log.info("shutdown complete")

    def _cut_calls(self) -> None:
        """Ends the calls still running at the end of the grace period with UNAVAILABLE."""
        count = self._runtime.drain.cut_calls()
        if count:
            log.warning("%d calls did not finish in the %ss grace period", count, self._grace)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM start the drain, as in uvicorn; but a completed drain exits 0
        instead of re-raising the signal, and a forced one (a second SIGINT) exits 1."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
        if self.force_exit:
            raise SystemExit(1)


def _listening_socket(settings: Settings) -> socket.socket:
    """The HTTP port bound with SO_REUSEPORT, which the other workers bind too."""
    sock = socket.socket(socket.AF_INET6 if ":" in settings.http_host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.http_host, settings.http_port))
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def main() -> None:
    """Runs the server until SIGTERM or SIGINT, then drains it; with CONCORD_WORKERS=N > 1,
    runs N such servers sharing the ports (workers.py)."""
    settings, env_log_level = _settings()
    gc_tuning.tune()
    if settings.workers > 1:
        supervisor = workers.Supervisor(settings.workers, settings.shutdown_grace_seconds)
        raise SystemExit(supervisor.run())
    if settings.config_url:
        start_log_level_watch(settings.config_url, env_log_level)
    runtime = Runtime(settings, on_serving=workers.signal_ready)
    config = uvicorn.Config(
        create_app(settings, runtime),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # the client address is the TCP peer (docs/auth.md), as on gRPC
        ws_max_size=settings.max_body_bytes,
        ws_per_message_deflate=settings.ws_compression,
        http=http_protocol(),
        timeout_graceful_shutdown=settings.shutdown_grace_seconds + ANSWER_SECONDS,
        **tls.uvicorn_options(settings),
    )
    sockets = [_listening_socket(settings)] if settings.reuse_port else None
    DrainingServer(config, runtime, settings.shutdown_grace_seconds).run(sockets=sockets)


if __name__ == "__main__":
    main()
