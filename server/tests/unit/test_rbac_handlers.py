"""RbacService handlers with real protobuf requests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from concord_server._gen.concord.v1 import rbac_pb2
from concord_server.api import convert
from concord_server.api.handlers.rbac import RbacHandlers
from concord_server.backends.memory.rbac import MemoryPolicyStore
from concord_server.clock import ManualClock
from concord_server.context import CallContext
from concord_server.domain.rbac import RbacService
from concord_server.errors import ConcordError, ErrorCode

CTX = CallContext(request_id="t")
ORDERS = rbac_pb2.Permission(action="locks.*", resource="locks/orders-*")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def handlers(clock: ManualClock) -> RbacHandlers:
    return RbacHandlers(RbacService(MemoryPolicyStore(), clock))


async def expect(code: ErrorCode, call: object) -> ConcordError:
    with pytest.raises(ConcordError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code is code, caught.value
    return caught.value


async def make_role(handlers: RbacHandlers, name: str, *perms: rbac_pb2.Permission) -> None:
    await handlers.CreateRole(rbac_pb2.CreateRoleRequest(name=name, permissions=perms), CTX)


def test_service_name() -> None:
    assert RbacHandlers.SERVICE == "concord.v1.RbacService"
    service = rbac_pb2.DESCRIPTOR.services_by_name["RbacService"]
    for method in service.methods:
        assert callable(getattr(RbacHandlers, method.name)), method.name


async def test_role_lifecycle(handlers: RbacHandlers, clock: ManualClock) -> None:
    created = await handlers.CreateRole(
        rbac_pb2.CreateRoleRequest(name="ops", description="operators", permissions=[ORDERS]),
        CTX,
    )
    role = created.role
    assert (role.name, role.description, list(role.permissions)) == ("ops", "operators", [ORDERS])
    assert convert.to_datetime(role.created_at) == clock.now()
    got = await handlers.GetRole(rbac_pb2.GetRoleRequest(name="ops"), CTX)
    assert got.role == role
    clock.advance(5)
    read = rbac_pb2.Permission(action="*.read", resource="*")
    updated = await handlers.UpdateRole(
        rbac_pb2.UpdateRoleRequest(name="ops", description="", permissions=[read]), CTX
    )
    assert list(updated.role.permissions) == [read]
    assert convert.to_datetime(updated.role.updated_at) == clock.now()
    assert updated.role.created_at == role.created_at
    deleted = await handlers.DeleteRole(rbac_pb2.DeleteRoleRequest(name="ops"), CTX)
    assert deleted.deleted
    again = await handlers.DeleteRole(rbac_pb2.DeleteRoleRequest(name="ops"), CTX)
    assert not again.deleted


async def test_role_errors(handlers: RbacHandlers) -> None:
    await make_role(handlers, "ops")
    await expect(ErrorCode.ALREADY_EXISTS, make_role(handlers, "ops"))
    await expect(ErrorCode.NOT_FOUND, handlers.GetRole(rbac_pb2.GetRoleRequest(name="x"), CTX))
    await expect(
        ErrorCode.NOT_FOUND, handlers.UpdateRole(rbac_pb2.UpdateRoleRequest(name="x"), CTX)
    )


async def test_list_roles_paginates(handlers: RbacHandlers) -> None:
    for name in ["c", "a", "b"]:
        await make_role(handlers, name)
    first = await handlers.ListRoles(rbac_pb2.ListRolesRequest(page_size=2), CTX)
    assert [r.name for r in first.roles] == ["a", "b"]
    rest = await handlers.ListRoles(
        rbac_pb2.ListRolesRequest(page_size=2, page_token=first.next_page_token), CTX
    )
    assert [r.name for r in rest.roles] == ["c"] and rest.next_page_token == ""
    await expect(
        ErrorCode.INVALID_ARGUMENT,
        handlers.ListRoles(rbac_pb2.ListRolesRequest(page_token="nonsense"), CTX),
    )


async def test_bindings(handlers: RbacHandlers, clock: ManualClock) -> None:
    await make_role(handlers, "ops", ORDERS)
    until = clock.now() + timedelta(hours=1)
    created = await handlers.CreateRoleBinding(
        rbac_pb2.CreateRoleBindingRequest(
            subject="svc:billing", role="ops", expires_at=convert.timestamp(until)
        ),
        CTX,
    )
    binding = created.binding
    assert binding.binding_id and (binding.subject, binding.role) == ("svc:billing", "ops")
    assert convert.to_datetime(binding.expires_at) == until
    forever = await handlers.CreateRoleBinding(
        rbac_pb2.CreateRoleBindingRequest(subject="bob", role="ops"), CTX
    )
    assert not forever.binding.HasField("expires_at")
    listed = await handlers.ListRoleBindings(
        rbac_pb2.ListRoleBindingsRequest(subject="svc:billing"), CTX
    )
    assert list(listed.bindings) == [binding]
    by_role = await handlers.ListRoleBindings(rbac_pb2.ListRoleBindingsRequest(role="ops"), CTX)
    assert len(by_role.bindings) == 2
    deleted = await handlers.DeleteRoleBinding(
        rbac_pb2.DeleteRoleBindingRequest(binding_id=binding.binding_id), CTX
    )
    assert deleted.deleted


async def test_binding_errors(handlers: RbacHandlers, clock: ManualClock) -> None:
    await expect(
        ErrorCode.NOT_FOUND,
        handlers.CreateRoleBinding(rbac_pb2.CreateRoleBindingRequest(subject="a", role="x"), CTX),
    )
    await make_role(handlers, "ops")
    past = convert.timestamp(clock.now() - timedelta(seconds=1))
    request = rbac_pb2.CreateRoleBindingRequest(subject="a", role="ops", expires_at=past)
    await expect(ErrorCode.INVALID_ARGUMENT, handlers.CreateRoleBinding(request, CTX))
    missing = rbac_pb2.DeleteRoleBindingRequest(binding_id="nope")
    assert not (await handlers.DeleteRoleBinding(missing, CTX)).deleted


async def test_check_permission(handlers: RbacHandlers, clock: ManualClock) -> None:
    await make_role(handlers, "ops", ORDERS)
    until = convert.timestamp(clock.now() + timedelta(seconds=30))
    await handlers.CreateRoleBinding(
        rbac_pb2.CreateRoleBindingRequest(subject="alice", role="ops", expires_at=until), CTX
    )
    request = rbac_pb2.CheckPermissionRequest(
        subject="alice", action="locks.acquire", resource="locks/orders-42"
    )
    allowed = await handlers.CheckPermission(request, CTX)
    assert (allowed.allowed, allowed.role) == (True, "ops")
    other = rbac_pb2.CheckPermissionRequest(
        subject="alice", action="locks.acquire", resource="locks/invoices-1"
    )
    assert (await handlers.CheckPermission(other, CTX)) == rbac_pb2.CheckPermissionResponse()
    clock.advance(30)
    denied = await handlers.CheckPermission(request, CTX)
    assert (denied.allowed, denied.role) == (False, "")
