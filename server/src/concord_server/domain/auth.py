"""Authentication rules: API keys (hashed secrets) and signed JWTs issued from them."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from concord_server.clock import Clock
from concord_server.context import Principal
from concord_server.domain.patterns import covered_by_any
from concord_server.domain.rbac import Page, cursor_token, page_size, paginate, token_cursor
from concord_server.errors import ConcordError, ErrorCode, invalid_argument, not_found
from concord_server.ports.rbac import ApiKeyRecord, Cursor, PolicyStore

SECRET_PREFIX = "ck_"
API_KEY = "API_KEY"
JWT = "JWT"
SUPPORTED_ALGORITHMS = ("HS256", "RS256")
DEFAULT_TOKEN_TTL = timedelta(hours=1)
BOOTSTRAP_SUBJECT = "bootstrap-admin"
_SCOPE = re.compile(r"^[A-Za-z0-9.*_-]{1,200}$")
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_CREATE_ATTEMPTS = 3
BOOTSTRAP_ADMIN = Principal(BOOTSTRAP_SUBJECT, API_KEY, ("*",), is_bootstrap_admin=True)


def unauthenticated(message: str, reason: str = "") -> ConcordError:
    """An UNAUTHENTICATED error, with a machine-readable reason when one helps the caller."""
    return ConcordError(ErrorCode.UNAUTHENTICATED, message, {"reason": reason} if reason else {})


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest stored for a secret (secrets hold 256 random bits: no salt needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret(key_id: str) -> str:
    """A fresh secret `ck_<key_id>_<32 random bytes, urlsafe>`."""
    return f"{SECRET_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(secret: str) -> str | None:
    """The key id a secret names, or None when it is not shaped like one of ours."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    key_id, sep, rest = secret[len(SECRET_PREFIX) :].partition("_")
    return key_id if sep and rest and _KEY_ID.match(key_id) else None


def secret_matches(secret: str, secret_hash: str) -> bool:
    """Whether a secret has the stored hash, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret).encode(), secret_hash.encode())


def check_scopes(scopes: Sequence[str], field: str) -> tuple[str, ...]:
    """Scopes as action patterns (letters, digits, `.`, `_`, `-`, `*`), in order, once each."""
    for scope in scopes:
        if not _SCOPE.match(scope):
            raise invalid_argument(
                f"scope {scope!r} is not an action pattern like 'locks.*'", field, scope=scope
            )
    return tuple(dict.fromkeys(scopes))


@dataclass(frozen=True)
class JwtConfig:
    """How tokens are signed and verified."""

    algorithm: str
    verification_key: str
    signing_key: str | None
    issuer: str
    audience: str


@dataclass(frozen=True)
class IssuedToken:
    """A signed JWT and when it expires."""

    access_token: str
    expires_at: datetime


@dataclass(frozen=True)
class CreatedKey:
    """A new API key and its secret, which is never available again."""

    key: ApiKeyRecord
    secret: str


class TokenCodec:
    """Signs and verifies JWTs with exactly one configured algorithm."""

    def __init__(self, config: JwtConfig) -> None:
        if config.algorithm not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"jwt_algorithm must be one of {SUPPORTED_ALGORITHMS}")
        self._config = config

    @property
    def can_issue(self) -> bool:
        """Whether a signing key is configured."""
        return bool(self._config.signing_key)

    def issue(self, claims: dict[str, Any]) -> str:
        """Signs claims, adding the issuer and the audience."""
        if not self._config.signing_key:
            raise ConcordError(
                ErrorCode.PRECONDITION_FAILED,
                "this server cannot issue tokens: configure jwt_private_key for RS256",
            )
        payload = {**claims, "iss": self._config.issuer, "aud": self._config.audience}
        return jwt.encode(payload, self._config.signing_key, algorithm=self._config.algorithm)

    def verify(self, token: str, now: datetime) -> dict[str, Any]:
        """The claims of a valid, unexpired token; UNAUTHENTICATED with the reason otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._config.verification_key,
                algorithms=[self._config.algorithm],
                issuer=self._config.issuer,
                audience=self._config.audience,
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise unauthenticated(self._reason(exc)) from exc
        self._check_times(claims, now)
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise unauthenticated("invalid bearer token: 'sub' must be a non-empty string")
        return claims

    def _reason(self, exc: jwt.PyJWTError) -> str:
        """A clear message for a token pyjwt refused."""
        config = self._config
        if isinstance(exc, jwt.InvalidAudienceError):
            return f"bearer token is not for audience {config.audience!r}"
        if isinstance(exc, jwt.InvalidIssuerError):
            return f"bearer token was not issued by {config.issuer!r}"
        if isinstance(exc, jwt.InvalidAlgorithmError):
            return f"bearer token algorithm is not allowed: this server accepts {config.algorithm}"
        if isinstance(exc, jwt.InvalidSignatureError):
            return "bearer token signature is invalid"
        if isinstance(exc, jwt.MissingRequiredClaimError):
            return f"bearer token lacks the {exc.claim!r} claim"
        if isinstance(exc, jwt.DecodeError):
            return "bearer token is malformed"
        return f"invalid bearer token: {exc}"

    @staticmethod
    def _check_times(claims: dict[str, Any], now: datetime) -> None:
        """Checks `exp` and `nbf` against the injected clock."""
        stamp = now.timestamp()
        exp, nbf = claims["exp"], claims.get("nbf")
        if not isinstance(exp, int | float) or (
            nbf is not None and not isinstance(nbf, int | float)
        ):
            raise unauthenticated("invalid bearer token: 'exp' and 'nbf' must be numbers")
        if stamp >= exp:
            raise unauthenticated("bearer token has expired")
        if nbf is not None and stamp < nbf:
            raise unauthenticated("bearer token is not valid yet")


class AuthService:
    """API key management, authentication of secrets and tokens, and token issuance."""

    def __init__(
        self, store: PolicyStore, clock: Clock, codec: TokenCodec, bootstrap_admin_key: str = ""
    ) -> None:
        self._store = store
        self._clock = clock
        self._codec = codec
        self._bootstrap = bootstrap_admin_key.encode("utf-8")

    async def create_api_key(
        self, name: str, subject: str, scopes: Sequence[str], ttl: timedelta | None
    ) -> CreatedKey:
        """Creates a key for a subject; the secret is returned here only."""
        checked = check_scopes(scopes, "scopes")
        if not checked:
            raise invalid_argument("an API key needs at least one scope", "scopes")
        now = self._clock.now()
        expires_at = now + ttl if ttl else None
        for _ in range(_CREATE_ATTEMPTS):
            key_id = secrets.token_hex(8)
            secret = new_secret(key_id)
            record = ApiKeyRecord(
                key_id, name, subject, checked, hash_secret(secret), now, expires_at
            )
            if await self._store.create_api_key(record):
                return CreatedKey(record, secret)
        raise ConcordError(ErrorCode.INTERNAL, "could not allocate a unique API key id")

    async def get_api_key(self, key_id: str) -> ApiKeyRecord:
        """A key's facts; NOT_FOUND when there is none."""
        key = await self._store.get_api_key(key_id)
        if key is None:
            raise not_found("API key", key_id)
        return key

    async def list_api_keys(self, subject: str, size: int, token: str) -> Page[ApiKeyRecord]:
        """Keys oldest first, of one subject when given, one page."""
        limit = page_size(size)
        kind = f"apiKeys|{subject}"
        after = token_cursor(kind, token)
        found = await self._store.list_api_keys(subject, after, limit + 1)
        return paginate(found, limit, lambda k: cursor_token(kind, Cursor(k.created_at, k.key_id)))

    async def revoke_api_key(self, key_id: str) -> ApiKeyRecord:
        """Revokes a key at once (idempotent); NOT_FOUND when there is none."""
        key = await self._store.revoke_api_key(key_id)
        if key is None:
            raise not_found("API key", key_id)
        return key

    async def authenticate_secret(self, secret: str) -> Principal:
        """The principal of an API key secret; UNAUTHENTICATED when unknown, revoked or expired."""
        if self._bootstrap and hmac.compare_digest(secret.encode("utf-8"), self._bootstrap):
            return BOOTSTRAP_ADMIN
        key_id = key_id_of(secret)
        key = await self._store.get_api_key(key_id) if key_id else None
        if key is None or not secret_matches(secret, key.secret_hash):
            raise unauthenticated("invalid API key")
        self._check_key_usable(key)
        return Principal(key.subject, API_KEY, key.scopes, key.key_id, key.expires_at)

    async def authenticate_token(self, token: str) -> Principal:
        """The principal of a bearer JWT; its API key, when it names one, must still be usable."""
        claims = self._codec.verify(token, self._clock.now())
        key_id = claims.get("key_id") or ""
        if not isinstance(key_id, str):
            raise unauthenticated("invalid bearer token: 'key_id' must be a string")
        if key_id:
            key = await self._store.get_api_key(key_id)
            if key is None or key.subject != claims["sub"]:
                raise unauthenticated("the API key this token was issued from no longer exists")
            self._check_key_usable(key)
        scope = claims.get("scope")
        scopes = tuple(scope.split()) if isinstance(scope, str) else ("*",)
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        return Principal(claims["sub"], JWT, scopes, key_id, expires_at)

    async def issue_token(
        self, caller: Principal, scopes: Sequence[str], ttl: timedelta | None
    ) -> IssuedToken:
        """A JWT for the caller's subject with at most its scopes, not outliving its credential."""
        wanted = check_scopes(scopes, "scopes") or caller.scopes
        for scope in wanted:
            if not covered_by_any(caller.scopes, scope):
                raise ConcordError(
                    ErrorCode.PERMISSION_DENIED,
                    f"scope {scope!r} exceeds the caller's scopes {list(caller.scopes)}",
                    {"scope": scope},
                )
        now = self._clock.now()
        expires_at = now + (ttl or DEFAULT_TOKEN_TTL)
        if caller.expires_at is not None:
            expires_at = min(expires_at, caller.expires_at)
        exp = int(expires_at.timestamp())
        claims = {
            "sub": caller.subject,
            "iat": int(now.timestamp()),
            "exp": exp,
            "scope": " ".join(wanted),
            "jti": uuid.uuid4().hex,
        }
        if caller.key_id:
            claims["key_id"] = caller.key_id
        return IssuedToken(self._codec.issue(claims), datetime.fromtimestamp(exp, UTC))

    def _check_key_usable(self, key: ApiKeyRecord) -> None:
        """Rejects a revoked or expired key."""
        if key.revoked:
            raise unauthenticated(f"API key {key.key_id!r} has been revoked")
        if key.expires_at is not None and self._clock.now() >= key.expires_at:
            raise unauthenticated(f"API key {key.key_id!r} has expired")
