"""What the dispatcher calls on every non-public RPC: authenticate the caller, then authorize."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from concord_server import page_tokens
from concord_server.api.handlers.auth import AuthHandlers
from concord_server.api.handlers.rbac import RbacHandlers
from concord_server.backends import registry
from concord_server.backends.connections import Connections
from concord_server.clock import Clock
from concord_server.component import Wired
from concord_server.config import Settings
from concord_server.context import Principal
from concord_server.domain.auth import (
    SUPPORTED_ALGORITHMS,
    AuthService,
    JwtConfig,
    TokenCodec,
    unauthenticated,
)
from concord_server.domain.rbac import RbacService
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.rbac import PolicyStore

JWT_SECRET_FILE = "jwt-secret"
_MISSING = "missing credential: send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'"


class Security:
    """Authentication from request headers and RBAC authorization, over the policy store."""

    def __init__(self, auth: AuthService, rbac: RbacService) -> None:
        self._auth = auth
        self._rbac = rbac

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The caller of a request (lower-case header names, repeats joined by ", ").

        A credential header that is present must be well-formed, even when empty, and must
        come once: a repeated one is ambiguous. Authorization wins when both kinds are sent.
        """
        if "authorization" in headers:
            value = _single("Authorization", headers["authorization"])
            scheme, _, token = value.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise unauthenticated(
                    "the Authorization header must be 'Bearer <token>'", "malformed_credential"
                )
            return await self._auth.authenticate_token(token.strip())
        if "x-api-key" in headers:
            return await self._auth.authenticate_secret(_single("X-API-Key", headers["x-api-key"]))
        raise unauthenticated(_MISSING, "missing_credential")

    async def authorize(self, principal: Principal, action: str, resource: str) -> None:
        """Allows the call or raises PERMISSION_DENIED naming the action and the resource."""
        await self._rbac.authorize(principal, action, resource)


def _single(name: str, value: str) -> str:
    """A credential header's value; UNAUTHENTICATED when empty or sent more than once."""
    value = value.strip()
    if not value:
        raise unauthenticated(f"the {name} header is empty", "malformed_credential")
    if "," in value:  # repeated headers arrive joined by ", "; no credential holds a comma
        raise unauthenticated(
            f"send one {name} header, not several: the credential is ambiguous",
            "ambiguous_credential",
        )
    return value


@dataclass
class PolicyStoreComponent:
    """The policy store's health for readiness; it has no background work."""

    store: PolicyStore
    backend: str
    name: str = "rbac"

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop: connections are shared and closed by their owner."""

    async def check(self) -> None:
        """Raises when the store does not answer."""
        await self.store.ping()


def _pem(value: str) -> str:
    """A PEM from settings, accepting `\\n` escapes as environment variables often carry."""
    return value.replace("\\n", "\n") if "\\n" in value and "\n" not in value else value


def persistent_jwt_secret(data_dir: Path) -> str:
    """The HS256 secret in `<data_dir>/jwt-secret` (mode 0600), created once if missing."""
    path = data_dir / JWT_SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{JWT_SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(64))
        try:
            os.link(draft, path)  # atomic: a racing process keeps the first secret
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    secret = path.read_text(encoding="utf-8").strip()
    if not secret:
        raise ConcordError(ErrorCode.INVALID_ARGUMENT, f"{path} is empty; delete it or fill it")
    return secret


def jwt_config(settings: Settings) -> JwtConfig:
    """The signing and verification keys the settings describe."""
    algorithm = settings.jwt_algorithm.upper()
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ConcordError(
            ErrorCode.INVALID_ARGUMENT,
            f"jwt_algorithm {settings.jwt_algorithm!r} is not one of {list(SUPPORTED_ALGORITHMS)}",
        )
    issuer, audience = settings.jwt_issuer, settings.jwt_audience
    if algorithm == "HS256":
        secret = settings.jwt_secret or persistent_jwt_secret(settings.data_dir)
        return JwtConfig(algorithm, secret, secret, issuer, audience)
    private, public = _pem(settings.jwt_private_key), _pem(settings.jwt_public_key)
    if not public and private:
        key = serialization.load_pem_private_key(private.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConcordError(ErrorCode.INVALID_ARGUMENT, "jwt_private_key must be an RSA key")
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
    if not public:
        raise ConcordError(
            ErrorCode.INVALID_ARGUMENT,
            "RS256 needs jwt_public_key (to verify) and/or jwt_private_key (to issue tokens)",
        )
    return JwtConfig(algorithm, public, private or None, issuer, audience)


async def wire_security(
    settings: Settings, connections: Connections, clock: Clock
) -> tuple[Security, Wired]:
    """Opens the policy store and returns Security plus the Auth and Rbac handlers."""
    store: PolicyStore = await registry.open_backend(
        "rbac", settings.rbac_url, settings, connections
    )
    config = jwt_config(settings)
    page_tokens.configure(settings.page_token_secret or config.verification_key)
    codec = TokenCodec(config)
    if any(c in settings.bootstrap_admin_key for c in ", \t"):
        raise ConcordError(
            ErrorCode.INVALID_ARGUMENT,
            "CONCORD_BOOTSTRAP_ADMIN_KEY must not contain commas or whitespace",
        )
    auth = AuthService(store, clock, codec, settings.bootstrap_admin_key)
    rbac = RbacService(store, clock)
    component = PolicyStoreComponent(store, registry.scheme_of(settings.rbac_url))
    wired = Wired(handlers=[AuthHandlers(auth, rbac), RbacHandlers(rbac)], components=[component])
    return Security(auth, rbac), wired
