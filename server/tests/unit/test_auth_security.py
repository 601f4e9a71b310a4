"""Security: credentials from headers, authorization, JWT key settings, wiring across instances."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from concord_server._gen.concord.v1 import auth_pb2, rbac_pb2
from concord_server.api.handlers.auth import AuthHandlers
from concord_server.api.handlers.rbac import RbacHandlers
from concord_server.api.security import (
    JWT_SECRET_FILE,
    Security,
    jwt_config,
    persistent_jwt_secret,
    wire_security,
)
from concord_server.backends.connections import Connections
from concord_server.clock import SystemClock
from concord_server.component import Wired
from concord_server.config import Settings
from concord_server.context import CallContext, Principal
from concord_server.errors import ConcordError, ErrorCode

BOOTSTRAP = "boot-" + "k" * 40
CTX = CallContext(request_id="t")


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    fields: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "rbac_url": f"sqlite://{tmp_path / 'concord.db'}",
        "bootstrap_admin_key": BOOTSTRAP,
        **overrides,
    }
    return Settings(**fields)  # type: ignore[arg-type]


def handlers_of(wired: Wired) -> tuple[AuthHandlers, RbacHandlers]:
    auth, rbac = wired.handlers
    assert isinstance(auth, AuthHandlers) and isinstance(rbac, RbacHandlers)
    return auth, rbac


async def create_key(wired: Wired, subject: str, scopes: list[str]) -> tuple[str, str]:
    """A new key's id and secret, through the CreateApiKey RPC."""
    request = auth_pb2.CreateApiKeyRequest(name="test", subject=subject, scopes=scopes)
    created = await handlers_of(wired)[0].CreateApiKey(request, CTX)
    return created.api_key.key_id, created.secret


async def issue(wired: Wired, caller: Principal) -> str:
    """A token for the caller, through the IssueToken RPC."""
    ctx = CallContext(request_id="t", principal=caller)
    issued = await handlers_of(wired)[0].IssueToken(auth_pb2.IssueTokenRequest(), ctx)
    return issued.access_token


async def bind(wired: Wired, subject: str, role: str, *rules: tuple[str, str]) -> None:
    """Creates a role of these (action, resource) rules and binds it, through the RPCs."""
    rbac = handlers_of(wired)[1]
    permissions = [rbac_pb2.Permission(action=a, resource=r) for a, r in rules]
    await rbac.CreateRole(rbac_pb2.CreateRoleRequest(name=role, permissions=permissions), CTX)
    request = rbac_pb2.CreateRoleBindingRequest(subject=subject, role=role)
    await rbac.CreateRoleBinding(request, CTX)


@pytest.fixture
async def wired(tmp_path: Path, connections: Connections) -> tuple[Security, Wired]:
    return await wire_security(settings_for(tmp_path), connections, SystemClock())


async def unauthenticated(security: Security, headers: dict[str, str]) -> str:
    with pytest.raises(ConcordError) as caught:
        await security.authenticate(headers)
    assert caught.value.code is ErrorCode.UNAUTHENTICATED
    return caught.value.message


class TestAuthenticate:
    async def test_missing_credential(self, wired: tuple[Security, Wired]) -> None:
        message = await unauthenticated(wired[0], {})
        assert "Authorization: Bearer" in message and "X-API-Key" in message
        await unauthenticated(wired[0], {"x-api-key": "  "})
        assert (await wired[0].authenticate({"x-api-key": f" {BOOTSTRAP} "})).is_bootstrap_admin

    @pytest.mark.parametrize("value", ["Basic dXNlcjpwdw==", "Bearer", "Bearer   ", "Token abc"])
    async def test_malformed_authorization(self, wired: tuple[Security, Wired], value: str) -> None:
        message = await unauthenticated(wired[0], {"authorization": value})
        assert "Bearer <token>" in message

    async def test_api_key_and_token(self, wired: tuple[Security, Wired]) -> None:
        security, parts = wired
        key_id, secret = await create_key(parts, "svc:ci", ["locks.*"])
        by_key = await security.authenticate({"x-api-key": secret})
        assert by_key == Principal("svc:ci", "API_KEY", ("locks.*",), key_id)
        token = await issue(parts, by_key)
        by_token = await security.authenticate({"authorization": f"bearer {token}"})
        assert (by_token.subject, by_token.credential_type, by_token.key_id) == (
            "svc:ci",
            "JWT",
            key_id,
        )
        both = {"authorization": f"Bearer {token}", "x-api-key": "ignored"}
        assert (await security.authenticate(both)).credential_type == "JWT"

    @pytest.mark.parametrize(
        ("headers", "reason"),
        [
            ({"authorization": ""}, "malformed_credential"),
            ({"authorization": "  "}, "malformed_credential"),
            ({"x-api-key": ""}, "malformed_credential"),
            ({"x-api-key": f"{BOOTSTRAP}, {BOOTSTRAP}"}, "ambiguous_credential"),
            ({"authorization": "Bearer a, Bearer b"}, "ambiguous_credential"),
            ({"authorization": "", "x-api-key": BOOTSTRAP}, "malformed_credential"),
        ],
    )
    async def test_empty_or_repeated_credentials_are_refused(
        self, wired: tuple[Security, Wired], headers: dict[str, str], reason: str
    ) -> None:
        with pytest.raises(ConcordError) as caught:
            await wired[0].authenticate(headers)
        assert caught.value.code is ErrorCode.UNAUTHENTICATED
        assert caught.value.details == {"reason": reason}

    async def test_bad_credentials(self, wired: tuple[Security, Wired]) -> None:
        assert await unauthenticated(wired[0], {"x-api-key": "ck_nope"}) == "invalid API key"
        await unauthenticated(wired[0], {"authorization": "Bearer not.a.jwt"})

    async def test_bootstrap_admin(self, wired: tuple[Security, Wired]) -> None:
        admin = await wired[0].authenticate({"x-api-key": BOOTSTRAP})
        assert admin.is_bootstrap_admin and admin.subject == "bootstrap-admin"
        assert admin.scopes == ("*",)
        await wired[0].authorize(admin, "rbac.admin", "roles/x")
        await unauthenticated(wired[0], {"authorization": f"Bearer {BOOTSTRAP}"})


class TestAuthorize:
    async def test_denied_until_bound(self, wired: tuple[Security, Wired]) -> None:
        security, parts = wired
        _, secret = await create_key(parts, "alice", ["locks.*"])
        alice = await security.authenticate({"x-api-key": secret})
        with pytest.raises(ConcordError) as caught:
            await security.authorize(alice, "locks.acquire", "locks/orders-1")
        assert caught.value.code is ErrorCode.PERMISSION_DENIED
        assert "locks.acquire" in caught.value.message
        assert "locks/orders-1" in caught.value.message
        await bind(parts, "alice", "ops", ("locks.*", "locks/orders-*"))
        await security.authorize(alice, "locks.acquire", "locks/orders-1")
        with pytest.raises(ConcordError):
            await security.authorize(alice, "locks.acquire", "locks/invoices-1")


class TestWiring:
    async def test_wired_parts(self, wired: tuple[Security, Wired]) -> None:
        _, parts = wired
        assert [type(h) for h in parts.handlers] == [AuthHandlers, RbacHandlers]
        [component] = parts.components
        assert (component.name, component.backend) == ("rbac", "sqlite")
        await component.start()
        await component.check()
        await component.stop()

    async def test_two_instances_share_keys_bindings_and_revocation(self, tmp_path: Path) -> None:
        first_conns, second_conns = Connections(), Connections()
        try:
            settings = settings_for(tmp_path)
            one, one_parts = await wire_security(settings, first_conns, SystemClock())
            two, two_parts = await wire_security(settings, second_conns, SystemClock())
            _, secret = await create_key(one_parts, "svc:ci", ["*"])
            caller = await two.authenticate({"x-api-key": secret})
            token = await issue(two_parts, caller)
            await one.authenticate({"authorization": f"Bearer {token}"})
            await bind(one_parts, "svc:ci", "ops", ("locks.*", "*"))
            await two.authorize(caller, "locks.acquire", "locks/x")
            revoke = auth_pb2.RevokeApiKeyRequest(key_id=caller.key_id)
            await handlers_of(one_parts)[0].RevokeApiKey(revoke, CTX)
            await unauthenticated(two, {"x-api-key": secret})
            await unauthenticated(two, {"authorization": f"Bearer {token}"})
        finally:
            await first_conns.close()
            await second_conns.close()


def rsa_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class TestJwtSettings:
    def test_generated_secret_is_persisted_privately(self, tmp_path: Path) -> None:
        first = jwt_config(settings_for(tmp_path))
        path = tmp_path / "data" / JWT_SECRET_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(first.verification_key) >= 64
        assert jwt_config(settings_for(tmp_path)).verification_key == first.verification_key
        assert [p.name for p in path.parent.iterdir()] == [JWT_SECRET_FILE]

    async def test_tokens_survive_a_restart(self, tmp_path: Path) -> None:
        conns = Connections()
        try:
            settings = settings_for(tmp_path)
            _, before = await wire_security(settings, conns, SystemClock())
            token = await issue(before, Principal("alice", "JWT"))
            after, _ = await wire_security(settings, conns, SystemClock())
            seen = await after.authenticate({"authorization": f"Bearer {token}"})
            assert seen.subject == "alice"
        finally:
            await conns.close()

    async def test_concurrent_first_starts_agree(self, tmp_path: Path) -> None:
        secrets = await asyncio.gather(
            *(asyncio.to_thread(persistent_jwt_secret, tmp_path / "d") for _ in range(8))
        )
        assert len(set(secrets)) == 1

    def test_empty_secret_file_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / JWT_SECRET_FILE).write_text("")
        with pytest.raises(ConcordError):
            jwt_config(settings_for(tmp_path))

    def test_configured_secret_writes_no_file(self, tmp_path: Path) -> None:
        config = jwt_config(settings_for(tmp_path, jwt_secret="x" * 40))
        assert config.verification_key == config.signing_key == "x" * 40
        assert not (tmp_path / "data" / JWT_SECRET_FILE).exists()

    def test_rs256_derives_the_public_key(self, tmp_path: Path) -> None:
        private = rsa_private_pem()
        escaped = private.replace("\n", "\\n")
        config = jwt_config(settings_for(tmp_path, jwt_algorithm="RS256", jwt_private_key=escaped))
        assert config.signing_key == private
        assert config.verification_key.startswith("-----BEGIN PUBLIC KEY-----")

    def test_rs256_verify_only(self, tmp_path: Path) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        config = jwt_config(settings_for(tmp_path, jwt_algorithm="rs256", jwt_public_key=public))
        assert (config.algorithm, config.signing_key) == ("RS256", None)

    @pytest.mark.parametrize(
        "overrides",
        [
            {"jwt_algorithm": "RS256"},
            {"jwt_algorithm": "none"},
            {"jwt_algorithm": "HS512"},
        ],
    )
    def test_bad_settings_fail_at_start(self, tmp_path: Path, overrides: dict[str, str]) -> None:
        with pytest.raises(ConcordError) as caught:
            jwt_config(settings_for(tmp_path, **overrides))
        assert caught.value.code is ErrorCode.INVALID_ARGUMENT

    def test_non_rsa_private_key_is_refused(self, tmp_path: Path) -> None:
        ec_pem = (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
        with pytest.raises(ConcordError, match="RSA"):
            jwt_config(settings_for(tmp_path, jwt_algorithm="RS256", jwt_private_key=ec_pem))
