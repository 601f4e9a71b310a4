"""Authentication rules: API key secrets, the bootstrap admin, JWT issuance and verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from concord_server.backends.memory.rbac import MemoryPolicyStore
from concord_server.clock import ManualClock
from concord_server.context import Principal
from concord_server.domain.auth import (
    AuthService,
    JwtConfig,
    TokenCodec,
    hash_secret,
    key_id_of,
)
from concord_server.errors import ConcordError, ErrorCode

SECRET = "test-secret-" + "s" * 60
BOOTSTRAP = "bootstrap-key-for-tests"


def hs256(secret: str = SECRET, issuer: str = "concord", audience: str = "concord") -> TokenCodec:
    return TokenCodec(JwtConfig("HS256", secret, secret, issuer, audience))


def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store() -> MemoryPolicyStore:
    return MemoryPolicyStore()


@pytest.fixture
def auth(store: MemoryPolicyStore, clock: ManualClock) -> AuthService:
    return AuthService(store, clock, hs256(), BOOTSTRAP)


async def expect(code: ErrorCode, call: object) -> ConcordError:
    with pytest.raises(ConcordError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code is code, caught.value
    return caught.value


class TestApiKeys:
    async def test_secret_is_returned_once_and_only_its_hash_stored(
        self, auth: AuthService, store: MemoryPolicyStore
    ) -> None:
        created = await auth.create_api_key("ci", "svc:ci", ["locks.*"], None)
        assert created.secret.startswith(f"ck_{created.key.key_id}_")
        assert len(created.secret) >= len("ck_") + 16 + 1 + 43
        assert key_id_of(created.secret) == created.key.key_id
        stored = await store.get_api_key(created.key.key_id)
        assert stored is not None
        assert stored.secret_hash == hash_secret(created.secret) != created.secret
        assert created.secret not in repr(stored)

    async def test_each_key_gets_a_fresh_id_and_secret(self, auth: AuthService) -> None:
        first = await auth.create_api_key("a", "svc:a", ["*"], None)
        second = await auth.create_api_key("a", "svc:a", ["*"], None)
        assert first.key.key_id != second.key.key_id
        assert first.secret != second.secret

    async def test_secret_authenticates_as_its_subject(self, auth: AuthService) -> None:
        created = await auth.create_api_key("ci", "svc:ci", ["locks.*", "cache.get"], None)
        caller = await auth.authenticate_secret(created.secret)
        assert caller == Principal(
            "svc:ci", "API_KEY", ("locks.*", "cache.get"), created.key.key_id, None
        )

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),
            lambda s: s + "x",
            lambda s: s.replace("ck_", "xk_", 1),
            lambda s: "ck_0000000000000000_" + s.rsplit("_", 1)[-1],
            lambda s: s.split("_")[0] + "_" + s.split("_")[1],
            lambda s: "",
            lambda s: "not-a-key",
        ],
    )
    async def test_wrong_secrets_are_unauthenticated(
        self, auth: AuthService, mangle: object
    ) -> None:
        created = await auth.create_api_key("ci", "svc:ci", ["*"], None)
        wrong = mangle(created.secret)  # type: ignore[operator]
        error = await expect(ErrorCode.UNAUTHENTICATED, auth.authenticate_secret(wrong))
        assert error.message == "invalid API key"

    async def test_revoked_key_fails_at_once(self, auth: AuthService) -> None:
        created = await auth.create_api_key("ci", "svc:ci", ["*"], None)
        revoked = await auth.revoke_api_key(created.key.key_id)
        assert revoked.revoked
        error = await expect(ErrorCode.UNAUTHENTICATED, auth.authenticate_secret(created.secret))
        assert "revoked" in error.message
        assert (await auth.revoke_api_key(created.key.key_id)).revoked  # idempotent

    async def test_key_expires_after_its_ttl(self, auth: AuthService, clock: ManualClock) -> None:
        created = await auth.create_api_key("ci", "svc:ci", ["*"], timedelta(minutes=5))
        assert created.key.expires_at == clock.now() + timedelta(minutes=5)
        clock.advance(299)
        await auth.authenticate_secret(created.secret)
        clock.advance(1)
        error = await expect(ErrorCode.UNAUTHENTICATED, auth.authenticate_secret(created.secret))
        assert "expired" in error.message

    async def test_scopes_must_be_action_patterns(self, auth: AuthService) -> None:
        for bad in ["locks acquire", "locks/*", "", "x" * 201]:
            error = await expect(
                ErrorCode.INVALID_ARGUMENT, auth.create_api_key("k", "s", [bad], None)
            )
            assert error.details["field"] == "scopes"
        await expect(ErrorCode.INVALID_ARGUMENT, auth.create_api_key("k", "s", [], None))
        created = await auth.create_api_key("k", "s", ["a.*", "b", "a.*"], None)
        assert created.key.scopes == ("a.*", "b")

    async def test_get_and_revoke_unknown_keys(self, auth: AuthService) -> None:
        await expect(ErrorCode.NOT_FOUND, auth.get_api_key("nope"))
        await expect(ErrorCode.NOT_FOUND, auth.revoke_api_key("nope"))

    async def test_list_pages_oldest_first(self, auth: AuthService, clock: ManualClock) -> None:
        ids = []
        for i in range(5):
            ids.append((await auth.create_api_key(f"k{i}", "svc:a", ["*"], None)).key.key_id)
            clock.advance(1)
        await auth.create_api_key("other", "svc:b", ["*"], None)
        first = await auth.list_api_keys("svc:a", 2, "")
        assert [k.key_id for k in first.items] == ids[:2] and first.next_page_token
        second = await auth.list_api_keys("svc:a", 2, first.next_page_token)
        third = await auth.list_api_keys("svc:a", 2, second.next_page_token)
        assert [k.key_id for k in second.items + third.items] == ids[2:]
        assert third.next_page_token == ""
        assert len((await auth.list_api_keys("", 0, "")).items) == 6

    async def test_list_rejects_foreign_tokens(self, auth: AuthService) -> None:
        for token in ["garbage!", "eyJrIjoicm9sZXMiLCJuIjoiYSJ9"]:  # the second: a roles token
            await expect(ErrorCode.INVALID_ARGUMENT, auth.list_api_keys("", 10, token))


class TestBootstrapAdmin:
    async def test_bootstrap_key_is_the_admin(self, auth: AuthService) -> None:
        caller = await auth.authenticate_secret(BOOTSTRAP)
        assert caller.is_bootstrap_admin
        assert caller.subject == "bootstrap-admin"
        assert caller.scopes == ("*",)

    async def test_near_misses_are_rejected(self, auth: AuthService) -> None:
        for wrong in [BOOTSTRAP + "x", BOOTSTRAP[:-1], BOOTSTRAP.upper()]:
            await expect(ErrorCode.UNAUTHENTICATED, auth.authenticate_secret(wrong))

    async def test_no_bootstrap_key_configured(
        self, store: MemoryPolicyStore, clock: ManualClock
    ) -> None:
        plain = AuthService(store, clock, hs256(), "")
        await expect(ErrorCode.UNAUTHENTICATED, plain.authenticate_secret(BOOTSTRAP))


class TestTokens:
    async def test_issued_token_authenticates_with_the_same_facts(
        self, auth: AuthService, clock: ManualClock
    ) -> None:
        created = await auth.create_api_key("ci", "svc:ci", ["locks.*", "cache.*"], None)
        caller = await auth.authenticate_secret(created.secret)
        issued = await auth.issue_token(caller, [], None)
        assert issued.expires_at == clock.now() + timedelta(hours=1)
        principal = await auth.authenticate_token(issued.access_token)
        assert principal == Principal(
            "svc:ci", "JWT", ("locks.*", "cache.*"), created.key.key_id, issued.expires_at
        )

    async def test_claims(self, auth: AuthService, clock: ManualClock) -> None:
        caller = Principal("alice", "API_KEY", ("locks.*",), "abcdef0123456789")
        issued = await auth.issue_token(caller, ["locks.acquire"], timedelta(minutes=2))
        claims = jwt.decode(issued.access_token, options={"verify_signature": False})
        now = int(clock.now().timestamp())
        assert claims["sub"] == "alice"
        assert claims["scope"] == "locks.acquire"
        assert claims["iat"] == now and claims["exp"] == now + 120
        assert claims["iss"] == "concord" and claims["aud"] == "concord"
        assert claims["key_id"] == "abcdef0123456789"
        assert len(claims["jti"]) == 32
        assert jwt.get_unverified_header(issued.access_token)["alg"] == "HS256"

    async def test_scopes_may_narrow_but_never_widen(self, auth: AuthService) -> None:
        caller = Principal("alice", "JWT", ("locks.*", "cache.get"))
        narrowed = await auth.issue_token(caller, ["locks.acquire", "cache.get"], None)
        principal = await auth.authenticate_token(narrowed.access_token)
        assert principal.scopes == ("locks.acquire", "cache.get")
        for wider in (["*"], ["locks.acquire", "cache.*"], ["sagas.start"], ["locks*"]):
            error = await expect(ErrorCode.PERMISSION_DENIED, auth.issue_token(caller, wider, None))
            assert "exceeds" in error.message
        await expect(ErrorCode.INVALID_ARGUMENT, auth.issue_token(caller, ["bad scope"], None))

    async def test_token_never_outlives_its_key(
        self, auth: AuthService, clock: ManualClock
    ) -> None:
        created = await auth.create_api_key("ci", "svc:ci", ["*"], timedelta(minutes=10))
        caller = await auth.authenticate_secret(created.secret)
        issued = await auth.issue_token(caller, [], timedelta(hours=2))
        assert issued.expires_at == created.key.expires_at

    async def test_expired_token_is_rejected(self, auth: AuthService, clock: ManualClock) -> None:
        issued = await auth.issue_token(Principal("alice", "JWT"), [], timedelta(minutes=1))
        clock.advance(59)
        await auth.authenticate_token(issued.access_token)
        clock.advance(1)
        error = await expect(
            ErrorCode.UNAUTHENTICATED, auth.authenticate_token(issued.access_token)
        )
        assert "expired" in error.message

    async def test_revoking_the_key_revokes_its_tokens(self, auth: AuthService) -> None:
        created = await auth.create_api_key("ci", "svc:ci", ["*"], None)
        caller = await auth.authenticate_secret(created.secret)
        issued = await auth.issue_token(caller, [], None)
        await auth.revoke_api_key(created.key.key_id)
        error = await expect(
            ErrorCode.UNAUTHENTICATED, auth.authenticate_token(issued.access_token)
        )
        assert "revoked" in error.message

    async def test_token_naming_a_foreign_or_unknown_key_is_rejected(
        self, auth: AuthService, clock: ManualClock
    ) -> None:
        bob_key = await auth.create_api_key("bob", "bob", ["*"], None)
        for key_id in [bob_key.key.key_id, "0123456789abcdef"]:
            forged = forge({"sub": "alice", "key_id": key_id}, clock)
            await expect(ErrorCode.UNAUTHENTICATED, auth.authenticate_token(forged))

    async def test_token_without_scope_claim_has_all_scopes(
        self, auth: AuthService, clock: ManualClock
    ) -> None:
        principal = await auth.authenticate_token(forge({"sub": "alice"}, clock))
        assert principal.scopes == ("*",)
        assert principal.key_id == ""


def forge(claims: dict[str, object], clock: ManualClock, **overrides: object) -> str:
    """A token signed with the test secret, with defaults for the registered claims."""
    now = int(clock.now().timestamp())
    payload = {"iat": now, "exp": now + 60, "iss": "concord", "aud": "concord", **claims}
    key = overrides.pop("key", SECRET)
    algorithm = overrides.pop("algorithm", "HS256")
    return jwt.encode(payload, key, algorithm=str(algorithm))  # type: ignore[arg-type]


def hmac_token(claims: dict[str, object], clock: ManualClock, key: bytes) -> str:
    """An HS256 token signed by hand with any key bytes (pyjwt refuses PEM keys for HMAC)."""
    now = int(clock.now().timestamp())
    payload = {"iat": now, "exp": now + 60, "iss": "concord", "aud": "concord", **claims}

    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}"
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


class TestTokenVerification:
    @pytest.mark.parametrize(
        ("claims", "reason"),
        [
            ({"sub": "alice", "iss": "someone-else"}, "not issued by 'concord'"),
            ({"sub": "alice", "aud": "other-service"}, "not for audience 'concord'"),
            ({"sub": "alice", "exp": None}, "lacks the 'exp' claim"),
            ({"sub": ""}, "sub"),
            ({"iat": 0}, "sub"),
            ({"sub": "alice", "nbf": 2_000_000_000_000}, "not valid yet"),
            ({"sub": "alice", "key_id": 5}, "key_id"),
        ],
    )
    async def test_bad_claims(
        self, auth: AuthService, clock: ManualClock, claims: dict[str, object], reason: str
    ) -> None:
        payload = {k: v for k, v in claims.items() if v is not None}
        token = forge(payload, clock)
        if claims.get("exp", 1) is None:
            token = jwt.encode(
                {"sub": "alice", "iat": 1, "iss": "concord", "aud": "concord"}, SECRET, "HS256"
            )
        error = await expect(ErrorCode.UNAUTHENTICATED, auth.authenticate_token(token))
        assert reason in error.message

    async def test_wrong_key_is_rejected(self, auth: AuthService, clock: ManualClock) -> None:
        token = forge({"sub": "alice"}, clock, key="another-" + "x" * 60)
        error = await expect(ErrorCode.UNAUTHENTICATED, auth.authenticate_token(token))
        assert error.message == "bearer token signature is invalid"

    async def test_alg_none_is_rejected(self, auth: AuthService, clock: ManualClock) -> None:
        token = forge({"sub": "alice"}, clock, key="", algorithm="none")
        error = await expect(ErrorCode.UNAUTHENTICATED, auth.authenticate_token(token))
        assert "algorithm is not allowed" in error.message

    async def test_other_algorithms_are_rejected(
        self, store: MemoryPolicyStore, clock: ManualClock
    ) -> None:
        hs512 = forge({"sub": "alice"}, clock, algorithm="HS512")
        await expect(
            ErrorCode.UNAUTHENTICATED, AuthService(store, clock, hs256()).authenticate_token(hs512)
        )
        _, public = rsa_pair()
        rs = AuthService(
            store, clock, TokenCodec(JwtConfig("RS256", public, None, "concord", "concord"))
        )
        hs = forge({"sub": "alice"}, clock)
        await expect(ErrorCode.UNAUTHENTICATED, rs.authenticate_token(hs))
        # The RS256/HS256 confusion: the public key used as an HMAC secret.
        confused = hmac_token({"sub": "alice"}, clock, public.encode())
        error = await expect(ErrorCode.UNAUTHENTICATED, rs.authenticate_token(confused))
        assert "algorithm is not allowed" in error.message

    async def test_garbage_is_rejected(self, auth: AuthService) -> None:
        for token in ["", "a.b.c", "not a token"]:
            error = await expect(ErrorCode.UNAUTHENTICATED, auth.authenticate_token(token))
            assert error.message == "bearer token is malformed"

    async def test_hand_signed_hs256_is_accepted(
        self, auth: AuthService, clock: ManualClock
    ) -> None:
        token = hmac_token({"sub": "alice"}, clock, SECRET.encode())
        assert (await auth.authenticate_token(token)).subject == "alice"

    async def test_rs256_round_trip(self, store: MemoryPolicyStore, clock: ManualClock) -> None:
        private, public = rsa_pair()
        codec = TokenCodec(JwtConfig("RS256", public, private, "concord", "concord"))
        rs = AuthService(store, clock, codec)
        issued = await rs.issue_token(Principal("alice", "JWT", ("locks.*",)), [], None)
        assert jwt.get_unverified_header(issued.access_token)["alg"] == "RS256"
        assert (await rs.authenticate_token(issued.access_token)).subject == "alice"
        _, other_public = rsa_pair()
        other = AuthService(
            store, clock, TokenCodec(JwtConfig("RS256", other_public, None, "concord", "concord"))
        )
        await expect(ErrorCode.UNAUTHENTICATED, other.authenticate_token(issued.access_token))

    async def test_verify_only_server_cannot_issue(
        self, store: MemoryPolicyStore, clock: ManualClock
    ) -> None:
        _, public = rsa_pair()
        codec = TokenCodec(JwtConfig("RS256", public, None, "concord", "concord"))
        assert not codec.can_issue
        rs = AuthService(store, clock, codec)
        await expect(ErrorCode.PRECONDITION_FAILED, rs.issue_token(Principal("a", "JWT"), [], None))

    def test_unsupported_algorithm_is_refused(self) -> None:
        with pytest.raises(ValueError):
            TokenCodec(JwtConfig("none", "", None, "concord", "concord"))
