"""TLS for REST and gRPC from PEM files, and client certificates (mutual TLS) on request.

`CONCORD_TLS_CERT_FILE` and `CONCORD_TLS_KEY_FILE` turn TLS on for both ports. With
`CONCORD_TLS_CLIENT_CA_FILE`, gRPC requires a client certificate signed by that CA; REST asks for
one per `CONCORD_TLS_HTTP_CLIENT_AUTH`: `none` (default: browsers and kubelet probes present no
certificate), `optional` (verified when presented) or `require`. Files are read at start; a
renewed certificate takes effect at the next start.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import grpc

from concord_server.config import Settings
from concord_server.config_sources import ConfigError

HTTP_CLIENT_AUTH = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "require": ssl.CERT_REQUIRED,
}


def enabled(settings: Settings) -> bool:
    """Whether the server serves TLS."""
    return bool(settings.tls_cert_file)


def check(settings: Settings) -> None:
    """Raises ConfigError for TLS settings that cannot work, naming the setting and the file."""
    cert, key, ca = settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file
    if bool(cert) != bool(key):
        raise ConfigError("CONCORD_TLS_CERT_FILE and CONCORD_TLS_KEY_FILE go together: set both")
    if ca and not cert:
        raise ConfigError("CONCORD_TLS_CLIENT_CA_FILE needs CONCORD_TLS_CERT_FILE and _KEY_FILE")
    if settings.tls_http_client_auth not in HTTP_CLIENT_AUTH:
        choices = ", ".join(HTTP_CLIENT_AUTH)
        raise ConfigError(f"CONCORD_TLS_HTTP_CLIENT_AUTH must be one of {choices}")
    if settings.tls_http_client_auth != "none" and not ca:
        raise ConfigError("CONCORD_TLS_HTTP_CLIENT_AUTH needs CONCORD_TLS_CLIENT_CA_FILE")
    if not cert:
        return
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot use the TLS certificate {cert} with key {key}: {exc}") from None
    if ca:
        try:
            context.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot read the client CA file {ca}: {exc}") from None


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS keyword arguments (none without TLS)."""
    if not enabled(settings):
        return {}
    options: dict[str, Any] = {
        "ssl_certfile": settings.tls_cert_file,
        "ssl_keyfile": settings.tls_key_file,
    }
    if settings.tls_client_ca_file and settings.tls_http_client_auth != "none":
        options["ssl_ca_certs"] = settings.tls_client_ca_file
        options["ssl_cert_reqs"] = HTTP_CLIENT_AUTH[settings.tls_http_client_auth]
    return options


def grpc_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """gRPC's server credentials; a client CA makes client certificates required."""
    if not enabled(settings):
        return None
    pair = (Path(settings.tls_key_file).read_bytes(), Path(settings.tls_cert_file).read_bytes())
    ca = settings.tls_client_ca_file
    return grpc.ssl_server_credentials(
        [pair],
        root_certificates=Path(ca).read_bytes() if ca else None,
        require_client_auth=bool(ca),
    )
