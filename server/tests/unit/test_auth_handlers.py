"""AuthService handlers with real protobuf requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.protobuf import duration_pb2

from concord_server._gen.concord.v1 import auth_pb2
from concord_server.api import convert
from concord_server.api.handlers.auth import AuthHandlers
from concord_server.backends.memory.rbac import MemoryPolicyStore
from concord_server.clock import ManualClock
from concord_server.context import CallContext, Principal
from concord_server.domain.auth import BOOTSTRAP_ADMIN, AuthService, JwtConfig, TokenCodec
from concord_server.domain.rbac import RbacService
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.rbac import PermissionRule

SECRET = "handler-tests-" + "h" * 50
CTX = CallContext(request_id="t")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def services(clock: ManualClock) -> tuple[AuthService, RbacService]:
    store = MemoryPolicyStore()
    codec = TokenCodec(JwtConfig("HS256", SECRET, SECRET, "concord", "concord"))
    return AuthService(store, clock, codec), RbacService(store, clock)


@pytest.fixture
def handlers(services: tuple[AuthService, RbacService]) -> AuthHandlers:
    return AuthHandlers(*services)


def as_caller(principal: Principal) -> CallContext:
    return CallContext(request_id="t", principal=principal)


async def expect(code: ErrorCode, call: object) -> ConcordError:
    with pytest.raises(ConcordError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code is code, caught.value
    return caught.value


async def create(
    handlers: AuthHandlers, subject: str = "svc:ci", ttl_seconds: int = 0
) -> auth_pb2.CreateApiKeyResponse:
    request = auth_pb2.CreateApiKeyRequest(name="ci key", subject=subject, scopes=["locks.*"])
    if ttl_seconds:
        request.ttl.CopyFrom(duration_pb2.Duration(seconds=ttl_seconds))
    return await handlers.CreateApiKey(request, CTX)


def test_service_name() -> None:
    assert AuthHandlers.SERVICE == "concord.v1.AuthService"
    service = auth_pb2.DESCRIPTOR.services_by_name["AuthService"]
    for method in service.methods:
        assert callable(getattr(AuthHandlers, method.name)), method.name


async def test_create_get_list_revoke(handlers: AuthHandlers, clock: ManualClock) -> None:
    created = await create(handlers, ttl_seconds=3600)
    key = created.api_key
    assert created.secret.startswith(f"ck_{key.key_id}_")
    assert (key.name, key.subject, list(key.scopes), key.revoked) == (
        "ci key",
        "svc:ci",
        ["locks.*"],
        False,
    )
    assert convert.to_datetime(key.created_at) == clock.now()
    assert convert.to_datetime(key.expires_at) == clock.now() + timedelta(hours=1)
    got = await handlers.GetApiKey(auth_pb2.GetApiKeyRequest(key_id=key.key_id), CTX)
    assert got.api_key == key
    assert created.secret not in str(got)
    listed = await handlers.ListApiKeys(auth_pb2.ListApiKeysRequest(subject="svc:ci"), CTX)
    assert list(listed.api_keys) == [key] and listed.next_page_token == ""
    revoked = await handlers.RevokeApiKey(auth_pb2.RevokeApiKeyRequest(key_id=key.key_id), CTX)
    assert revoked.api_key.revoked


async def test_key_without_ttl_never_expires(handlers: AuthHandlers) -> None:
    assert not (await create(handlers)).api_key.HasField("expires_at")


async def test_list_paginates(handlers: AuthHandlers, clock: ManualClock) -> None:
    ids = []
    for _ in range(3):
        ids.append((await create(handlers)).api_key.key_id)
        clock.advance(1)
    first = await handlers.ListApiKeys(auth_pb2.ListApiKeysRequest(page_size=2), CTX)
    rest = await handlers.ListApiKeys(
        auth_pb2.ListApiKeysRequest(page_size=2, page_token=first.next_page_token), CTX
    )
    assert [k.key_id for k in [*first.api_keys, *rest.api_keys]] == ids


async def test_unknown_keys(handlers: AuthHandlers) -> None:
    await expect(
        ErrorCode.NOT_FOUND, handlers.GetApiKey(auth_pb2.GetApiKeyRequest(key_id="x"), CTX)
    )
    await expect(
        ErrorCode.NOT_FOUND, handlers.RevokeApiKey(auth_pb2.RevokeApiKeyRequest(key_id="x"), CTX)
    )


async def test_bad_scope_is_invalid(handlers: AuthHandlers) -> None:
    request = auth_pb2.CreateApiKeyRequest(name="k", subject="s", scopes=["locks/*"])
    await expect(ErrorCode.INVALID_ARGUMENT, handlers.CreateApiKey(request, CTX))


async def test_issue_token(
    handlers: AuthHandlers, services: tuple[AuthService, RbacService], clock: ManualClock
) -> None:
    created = await create(handlers)
    caller = await services[0].authenticate_secret(created.secret)
    issued = await handlers.IssueToken(auth_pb2.IssueTokenRequest(), as_caller(caller))
    assert issued.token_type == "Bearer"
    assert convert.to_datetime(issued.expires_at) == clock.now() + timedelta(hours=1)
    principal = await services[0].authenticate_token(issued.access_token)
    assert (principal.subject, principal.scopes) == ("svc:ci", ("locks.*",))
    short = auth_pb2.IssueTokenRequest(scopes=["locks.acquire"])
    short.ttl.CopyFrom(duration_pb2.Duration(seconds=120))
    narrow = await handlers.IssueToken(short, as_caller(caller))
    assert convert.to_datetime(narrow.expires_at) == clock.now() + timedelta(minutes=2)
    wide = auth_pb2.IssueTokenRequest(scopes=["cache.*"])
    await expect(ErrorCode.PERMISSION_DENIED, handlers.IssueToken(wide, as_caller(caller)))


async def test_calls_without_a_caller_are_unauthenticated(handlers: AuthHandlers) -> None:
    await expect(ErrorCode.UNAUTHENTICATED, handlers.IssueToken(auth_pb2.IssueTokenRequest(), CTX))
    await expect(ErrorCode.UNAUTHENTICATED, handlers.WhoAmI(auth_pb2.WhoAmIRequest(), CTX))


async def test_who_am_i(
    handlers: AuthHandlers, services: tuple[AuthService, RbacService], clock: ManualClock
) -> None:
    auth, rbac = services
    created = await create(handlers, subject="alice", ttl_seconds=600)
    await rbac.create_role("ops", "", [PermissionRule("locks.*", "*")])
    await rbac.create_role("temp", "", [])
    await rbac.create_binding("alice", "ops", None)
    await rbac.create_binding("alice", "temp", clock.now() + timedelta(seconds=5))
    caller = await auth.authenticate_secret(created.secret)
    me = await handlers.WhoAmI(auth_pb2.WhoAmIRequest(), as_caller(caller))
    assert me.subject == "alice"
    assert me.credential_type == auth_pb2.CREDENTIAL_TYPE_API_KEY
    assert list(me.scopes) == ["locks.*"] and list(me.roles) == ["ops", "temp"]
    assert me.key_id == created.api_key.key_id
    assert me.expires_at == created.api_key.expires_at
    clock.advance(5)
    token = await handlers.IssueToken(auth_pb2.IssueTokenRequest(), as_caller(caller))
    by_token = await auth.authenticate_token(token.access_token)
    me = await handlers.WhoAmI(auth_pb2.WhoAmIRequest(), as_caller(by_token))
    assert me.credential_type == auth_pb2.CREDENTIAL_TYPE_JWT
    assert list(me.roles) == ["ops"]


async def test_who_am_i_bootstrap_admin(handlers: AuthHandlers) -> None:
    me = await handlers.WhoAmI(auth_pb2.WhoAmIRequest(), as_caller(BOOTSTRAP_ADMIN))
    assert (me.subject, list(me.scopes), me.key_id) == ("bootstrap-admin", ["*"], "")
    assert not me.HasField("expires_at")
