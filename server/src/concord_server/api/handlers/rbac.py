"""RbacService handlers: roles, role bindings and permission checks."""

from __future__ import annotations

from collections.abc import Iterable

from concord_server._gen.concord.v1 import rbac_pb2
from concord_server.api import convert
from concord_server.context import CallContext
from concord_server.domain.rbac import RbacService
from concord_server.ports.rbac import BindingRecord, PermissionRule, RoleRecord


def permissions_of(messages: Iterable[rbac_pb2.Permission]) -> list[PermissionRule]:
    """Domain permissions from their messages."""
    return [PermissionRule(p.action, p.resource) for p in messages]


def role_message(role: RoleRecord) -> rbac_pb2.Role:
    """The message of a role."""
    return rbac_pb2.Role(
        name=role.name,
        description=role.description,
        permissions=[
            rbac_pb2.Permission(action=p.action, resource=p.resource) for p in role.permissions
        ],
        created_at=convert.timestamp(role.created_at),
        updated_at=convert.timestamp(role.updated_at),
    )


def binding_message(binding: BindingRecord) -> rbac_pb2.RoleBinding:
    """The message of a role binding."""
    return rbac_pb2.RoleBinding(
        binding_id=binding.binding_id,
        subject=binding.subject,
        role=binding.role,
        expires_at=convert.timestamp(binding.expires_at),
        created_at=convert.timestamp(binding.created_at),
    )


class RbacHandlers:
    """The RPCs of concord.v1.RbacService."""

    SERVICE = "concord.v1.RbacService"

    def __init__(self, rbac: RbacService) -> None:
        self._rbac = rbac

    async def CreateRole(
        self, request: rbac_pb2.CreateRoleRequest, ctx: CallContext
    ) -> rbac_pb2.CreateRoleResponse:
        """Creates a role."""
        role = await self._rbac.create_role(
            request.name, request.description, permissions_of(request.permissions)
        )
        return rbac_pb2.CreateRoleResponse(role=role_message(role))

    async def GetRole(
        self, request: rbac_pb2.GetRoleRequest, ctx: CallContext
    ) -> rbac_pb2.GetRoleResponse:
        """Returns a role."""
        return rbac_pb2.GetRoleResponse(role=role_message(await self._rbac.get_role(request.name)))

    async def ListRoles(
        self, request: rbac_pb2.ListRolesRequest, ctx: CallContext
    ) -> rbac_pb2.ListRolesResponse:
        """Lists roles in name order."""
        page = await self._rbac.list_roles(request.page_size, request.page_token)
        return rbac_pb2.ListRolesResponse(
            roles=[role_message(r) for r in page.items], next_page_token=page.next_page_token
        )

    async def UpdateRole(
        self, request: rbac_pb2.UpdateRoleRequest, ctx: CallContext
    ) -> rbac_pb2.UpdateRoleResponse:
        """Replaces a role's description and permissions."""
        role = await self._rbac.update_role(
            request.name, request.description, permissions_of(request.permissions)
        )
        return rbac_pb2.UpdateRoleResponse(role=role_message(role))

    async def DeleteRole(
        self, request: rbac_pb2.DeleteRoleRequest, ctx: CallContext
    ) -> rbac_pb2.DeleteRoleResponse:
        """Deletes a role and its bindings."""
        return rbac_pb2.DeleteRoleResponse(deleted=await self._rbac.delete_role(request.name))

    async def CreateRoleBinding(
        self, request: rbac_pb2.CreateRoleBindingRequest, ctx: CallContext
    ) -> rbac_pb2.CreateRoleBindingResponse:
        """Binds a role to a subject."""
        expires_at = (
            convert.to_datetime(request.expires_at) if request.HasField("expires_at") else None
        )
        binding = await self._rbac.create_binding(request.subject, request.role, expires_at)
        return rbac_pb2.CreateRoleBindingResponse(binding=binding_message(binding))

    async def ListRoleBindings(
        self, request: rbac_pb2.ListRoleBindingsRequest, ctx: CallContext
    ) -> rbac_pb2.ListRoleBindingsResponse:
        """Lists bindings, oldest first."""
        page = await self._rbac.list_bindings(
            request.subject, request.role, request.page_size, request.page_token
        )
        return rbac_pb2.ListRoleBindingsResponse(
            bindings=[binding_message(b) for b in page.items],
            next_page_token=page.next_page_token,
        )

    async def DeleteRoleBinding(
        self, request: rbac_pb2.DeleteRoleBindingRequest, ctx: CallContext
    ) -> rbac_pb2.DeleteRoleBindingResponse:
        """Deletes a binding."""
        deleted = await self._rbac.delete_binding(request.binding_id)
        return rbac_pb2.DeleteRoleBindingResponse(deleted=deleted)

    async def CheckPermission(
        self, request: rbac_pb2.CheckPermissionRequest, ctx: CallContext
    ) -> rbac_pb2.CheckPermissionResponse:
        """Tells whether a subject may perform an action on a resource."""
        role = await self._rbac.check(request.subject, request.action, request.resource)
        return rbac_pb2.CheckPermissionResponse(allowed=role is not None, role=role or "")
