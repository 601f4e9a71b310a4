"""`python -m concord_server.healthcheck`: exit 0 when this host's server answers its liveness.

The container image's HEALTHCHECK. It reads the same settings as the server (port, host, TLS),
asks `/v1/health/live` on loopback and needs no third-party package, so it costs little every
interval. Liveness, not readiness: an engine outage should not get the container restarted. Over
TLS it does not verify the certificate (it checks the server, not the chain); when REST requires
client certificates it can only check that the port accepts connections.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import urllib.error
import urllib.request

from concord_server.config import Settings

TIMEOUT_SECONDS = 4.0


def probe_host(bind_host: str) -> str:
    """The address to probe: loopback when the server listens on every interface."""
    if bind_host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if bind_host == "::":
        return "[::1]"
    return f"[{bind_host}]" if ":" in bind_host else bind_host


def live_url(settings: Settings) -> str:
    """The liveness URL of the server these settings describe."""
    scheme = "https" if settings.tls_cert_file else "http"
    return f"{scheme}://{probe_host(settings.http_host)}:{settings.http_port}/v1/health/live"


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _port_open(settings: Settings) -> str | None:
    """None when the HTTP port accepts a TCP connection."""
    host = probe_host(settings.http_host).strip("[]")
    try:
        with socket.create_connection((host, settings.http_port), timeout=TIMEOUT_SECONDS):
            return None
    except OSError as exc:
        return f"{host}:{settings.http_port}: {exc}"


def check(settings: Settings) -> str | None:
    """None when the server is live; otherwise why not."""
    if settings.tls_cert_file and settings.tls_http_client_auth == "require":
        return _port_open(settings)
    url = live_url(settings)
    context = _unverified() if settings.tls_cert_file else None
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS, context=context) as answer:
            body = json.loads(answer.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{url}: {exc}"
    if body.get("status") != "SERVING":
        return f"{url}: status {body.get('status')!r}"
    return None


def main() -> None:
    """Prints the outcome; exit status 0 (live) or 1."""
    problem = check(Settings())
    print(problem or "live", file=sys.stderr if problem else sys.stdout)
    sys.exit(1 if problem else 0)


if __name__ == "__main__":
    main()
