"""RBAC rules: roles, bindings with expiry, deny-by-default authorization, pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest

from concord_server.backends.memory.rbac import MemoryPolicyStore
from concord_server.clock import ManualClock
from concord_server.context import Principal
from concord_server.domain.auth import BOOTSTRAP_ADMIN
from concord_server.domain.rbac import MAX_PAGE_SIZE, RbacService, page_size
from concord_server.errors import ConcordError, ErrorCode
from concord_server.ports.rbac import PermissionRule

LOCKS_ORDERS = PermissionRule("locks.*", "locks/orders-*")
READ_ALL = PermissionRule("*.read", "*")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def rbac(clock: ManualClock) -> RbacService:
    return RbacService(MemoryPolicyStore(), clock)


async def expect(code: ErrorCode, call: object) -> ConcordError:
    with pytest.raises(ConcordError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code is code, caught.value
    return caught.value


def caller(subject: str = "alice", scopes: tuple[str, ...] = ("*",)) -> Principal:
    return Principal(subject, "API_KEY", scopes, key_id="0123456789abcdef")


class TestRoles:
    async def test_create_and_get(self, rbac: RbacService, clock: ManualClock) -> None:
        role = await rbac.create_role("ops", "operators", [LOCKS_ORDERS])
        assert role.created_at == role.updated_at == clock.now()
        assert await rbac.get_role("ops") == role

    async def test_duplicate_name_already_exists(self, rbac: RbacService) -> None:
        await rbac.create_role("ops", "", [])
        error = await expect(ErrorCode.ALREADY_EXISTS, rbac.create_role("ops", "", []))
        assert "ops" in error.message

    async def test_missing_role_not_found(self, rbac: RbacService) -> None:
        await expect(ErrorCode.NOT_FOUND, rbac.get_role("nope"))
        await expect(ErrorCode.NOT_FOUND, rbac.update_role("nope", "", []))
        assert not await rbac.delete_role("nope")

    async def test_update_replaces_and_stamps(self, rbac: RbacService, clock: ManualClock) -> None:
        created = await rbac.create_role("ops", "old", [LOCKS_ORDERS])
        clock.advance(30)
        updated = await rbac.update_role("ops", "new", [READ_ALL])
        assert (updated.description, updated.permissions) == ("new", (READ_ALL,))
        assert updated.created_at == created.created_at
        assert updated.updated_at == clock.now()

    async def test_list_pages_in_name_order(self, rbac: RbacService) -> None:
        for name in ["delta", "alpha", "echo", "charlie", "bravo"]:
            await rbac.create_role(name, "", [])
        page = await rbac.list_roles(2, "")
        names = [r.name for r in page.items]
        while page.next_page_token:
            page = await rbac.list_roles(2, page.next_page_token)
            names += [r.name for r in page.items]
        assert names == ["alpha", "bravo", "charlie", "delta", "echo"]
        assert len((await rbac.list_roles(0, "")).items) == 5

    async def test_exact_page_has_no_next_token(self, rbac: RbacService) -> None:
        for name in ["a", "b"]:
            await rbac.create_role(name, "", [])
        assert (await rbac.list_roles(2, "")).next_page_token == ""

    async def test_bad_page_tokens(self, rbac: RbacService) -> None:
        await expect(ErrorCode.INVALID_ARGUMENT, rbac.list_roles(10, "%%%"))
        bindings_page_token = "eyJrIjoiYmluZGluZ3MiLCJ0IjoxLCJpIjoieCJ9"
        await expect(ErrorCode.INVALID_ARGUMENT, rbac.list_roles(10, bindings_page_token))
        await expect(
            ErrorCode.INVALID_ARGUMENT, rbac.list_bindings("", "", 10, "eyJrIjoicm9sZXMifQ")
        )


def test_page_size_rules() -> None:
    assert page_size(0) == 50
    assert page_size(7) == 7
    assert page_size(5000) == MAX_PAGE_SIZE
    with pytest.raises(ConcordError):
        page_size(-1)


class TestBindings:
    async def test_binding_needs_an_existing_role(self, rbac: RbacService) -> None:
        error = await expect(ErrorCode.NOT_FOUND, rbac.create_binding("alice", "ghost", None))
        assert "ghost" in error.message

    async def test_expiry_must_be_in_the_future(
        self, rbac: RbacService, clock: ManualClock
    ) -> None:
        await rbac.create_role("ops", "", [])
        for past in (clock.now(), clock.now() - timedelta(seconds=1)):
            error = await expect(
                ErrorCode.INVALID_ARGUMENT, rbac.create_binding("alice", "ops", past)
            )
            assert error.details["field"] == "expires_at"

    async def test_list_filters_and_pages(self, rbac: RbacService, clock: ManualClock) -> None:
        await rbac.create_role("ops", "", [])
        await rbac.create_role("dev", "", [])
        made = []
        for subject, role in [("alice", "ops"), ("bob", "ops"), ("alice", "dev")] * 2:
            made.append(await rbac.create_binding(subject, role, None))
            clock.advance(1)
        page = await rbac.list_bindings("alice", "", 3, "")
        rest = await rbac.list_bindings("alice", "", 3, page.next_page_token)
        assert page.items + rest.items == [b for b in made if b.subject == "alice"]
        assert rest.next_page_token == ""
        ops = await rbac.list_bindings("", "ops", 0, "")
        assert ops.items == [b for b in made if b.role == "ops"]

    async def test_expired_bindings_stay_listed_but_stop_granting(
        self, rbac: RbacService, clock: ManualClock
    ) -> None:
        await rbac.create_role("ops", "", [LOCKS_ORDERS])
        until = clock.now() + timedelta(seconds=10)
        binding = await rbac.create_binding("alice", "ops", until)
        assert await rbac.check("alice", "locks.acquire", "locks/orders-1") == "ops"
        clock.advance(10)
        assert await rbac.check("alice", "locks.acquire", "locks/orders-1") is None
        assert await rbac.role_names("alice") == []
        assert (await rbac.list_bindings("alice", "", 0, "")).items == [binding]

    async def test_delete(self, rbac: RbacService) -> None:
        await rbac.create_role("ops", "", [LOCKS_ORDERS])
        binding = await rbac.create_binding("alice", "ops", None)
        assert await rbac.delete_binding(binding.binding_id)
        assert not await rbac.delete_binding(binding.binding_id)
        assert await rbac.check("alice", "locks.acquire", "locks/orders-1") is None


class TestCheck:
    async def test_first_matching_role_by_name(self, rbac: RbacService) -> None:
        await rbac.create_role("zeta", "", [LOCKS_ORDERS])
        await rbac.create_role("alpha", "", [LOCKS_ORDERS])
        await rbac.create_role("reader", "", [READ_ALL])
        for role in ["zeta", "alpha", "reader"]:
            await rbac.create_binding("alice", role, None)
        assert await rbac.check("alice", "locks.acquire", "locks/orders-9") == "alpha"
        assert await rbac.check("alice", "rbac.read", "roles/x") == "reader"
        assert await rbac.role_names("alice") == ["alpha", "reader", "zeta"]

    @pytest.mark.parametrize(
        ("action", "resource"),
        [
            ("locks.acquire", "locks/invoices-1"),  # resource outside the pattern
            ("cache.get", "locks/orders-1"),  # action outside the pattern
            ("locks.acquire", "xlocks/orders-1"),
        ],
    )
    async def test_both_patterns_must_match(
        self, rbac: RbacService, action: str, resource: str
    ) -> None:
        await rbac.create_role("ops", "", [LOCKS_ORDERS])
        await rbac.create_binding("alice", "ops", None)
        assert await rbac.check("alice", action, resource) is None

    async def test_bindings_are_per_subject(self, rbac: RbacService) -> None:
        await rbac.create_role("ops", "", [PermissionRule("*", "*")])
        await rbac.create_binding("alice", "ops", None)
        assert await rbac.check("alice2", "locks.acquire", "locks/a") is None
        assert await rbac.check("alic", "locks.acquire", "locks/a") is None


class TestAuthorize:
    async def test_deny_by_default(self, rbac: RbacService) -> None:
        error = await expect(
            ErrorCode.PERMISSION_DENIED, rbac.authorize(caller(), "locks.acquire", "locks/a")
        )
        assert "'locks.acquire'" in error.message and "'locks/a'" in error.message
        assert error.details == {
            "action": "locks.acquire",
            "resource": "locks/a",
            "subject": "alice",
        }

    async def test_binding_and_scope_allow(self, rbac: RbacService) -> None:
        await rbac.create_role("ops", "", [LOCKS_ORDERS])
        await rbac.create_binding("alice", "ops", None)
        await rbac.authorize(caller(scopes=("locks.*",)), "locks.acquire", "locks/orders-1")

    async def test_scopes_narrow_the_roles(self, rbac: RbacService) -> None:
        await rbac.create_role("ops", "", [LOCKS_ORDERS])
        await rbac.create_binding("alice", "ops", None)
        narrow = caller(scopes=("locks.release", "cache.*"))
        error = await expect(
            ErrorCode.PERMISSION_DENIED, rbac.authorize(narrow, "locks.acquire", "locks/orders-1")
        )
        assert "scopes" in error.message
        await expect(
            ErrorCode.PERMISSION_DENIED, rbac.authorize(caller(scopes=()), "x.y", "locks/a")
        )

    async def test_scopes_never_widen_the_roles(self, rbac: RbacService) -> None:
        await rbac.create_role("reader", "", [READ_ALL])
        await rbac.create_binding("alice", "reader", None)
        await expect(ErrorCode.PERMISSION_DENIED, rbac.authorize(caller(), "rbac.admin", "roles/x"))

    async def test_changes_take_effect_at_once(self, rbac: RbacService) -> None:
        await rbac.create_role("ops", "", [LOCKS_ORDERS])
        binding = await rbac.create_binding("alice", "ops", None)
        await rbac.authorize(caller(), "locks.acquire", "locks/orders-1")
        await rbac.update_role("ops", "", [READ_ALL])
        await expect(
            ErrorCode.PERMISSION_DENIED, rbac.authorize(caller(), "locks.acquire", "locks/orders-1")
        )
        await rbac.update_role("ops", "", [LOCKS_ORDERS])
        await rbac.delete_binding(binding.binding_id)
        await expect(
            ErrorCode.PERMISSION_DENIED, rbac.authorize(caller(), "locks.acquire", "locks/orders-1")
        )

    async def test_bootstrap_admin_is_always_allowed(self, rbac: RbacService) -> None:
        await rbac.authorize(BOOTSTRAP_ADMIN, "rbac.admin", "roles/anything")
        await rbac.authorize(BOOTSTRAP_ADMIN, "auth.admin", "apiKeys/*")

    async def test_subject_named_like_the_admin_gets_no_privilege(self, rbac: RbacService) -> None:
        pretender = Principal("bootstrap-admin", "JWT", ("*",))
        await expect(
            ErrorCode.PERMISSION_DENIED, rbac.authorize(pretender, "rbac.admin", "roles/x")
        )
