"""TLS settings of a client: a CA bundle to trust and a client certificate (mutual TLS)."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

import httpx

ENV_CA_BUNDLE = "CONCORD_CA_BUNDLE"
ENV_CLIENT_CERT = "CONCORD_CLIENT_CERT"
ENV_CLIENT_KEY = "CONCORD_CLIENT_KEY"

FilePath: TypeAlias = str | os.PathLike[str]
# A PEM file holding the certificate and its key, or a (certificate file, key file) pair.
ClientCert: TypeAlias = FilePath | tuple[FilePath, FilePath]


@dataclass(frozen=True)
class TlsSettings:
    """Which CA to trust (None: the default bundle) and which certificate to present."""

    ca_bundle: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def client_cert(self) -> tuple[str, str] | str | None:
        """The certificate in the form `client_cert=` takes."""
        if self.cert_file and self.key_file:
            return (self.cert_file, self.key_file)
        return self.cert_file

    def ssl_context(self) -> ssl.SSLContext:
        """The context for HTTPS and WSS connections; ValueError for a file it cannot use."""
        try:
            if self.ca_bundle:
                context = ssl.create_default_context(cafile=self.ca_bundle)
            else:
                context = httpx.create_ssl_context()
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot use the CA bundle {self.ca_bundle}: {exc}") from exc
        if self.cert_file:
            try:
                context.load_cert_chain(self.cert_file, self.key_file)
            except (OSError, ssl.SSLError) as exc:
                message = f"cannot use the client certificate {self.cert_file}: {exc}"
                raise ValueError(message) from exc
        return context


def resolve_tls(
    ca_bundle: FilePath | None,
    client_cert: ClientCert | None,
    env: Mapping[str, str] | None = None,
) -> TlsSettings | None:
    """Explicit arguments win, each on its own; else `CONCORD_CA_BUNDLE`, `CONCORD_CLIENT_CERT`
    and `CONCORD_CLIENT_KEY`. None when nothing is set (the default TLS of httpx)."""
    source = os.environ if env is None else env
    ca = os.fspath(ca_bundle) if ca_bundle else source.get(ENV_CA_BUNDLE) or None
    cert: str | None
    key: str | None
    if isinstance(client_cert, tuple):
        cert, key = os.fspath(client_cert[0]), os.fspath(client_cert[1])
    elif client_cert:
        cert, key = os.fspath(client_cert), None
    else:
        cert = source.get(ENV_CLIENT_CERT) or None
        key = source.get(ENV_CLIENT_KEY) or None
    if not (ca or cert):
        return None
    return TlsSettings(ca, cert, key)
