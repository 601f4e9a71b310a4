"""In-process policy store: one process only, lost at restart (for tests and trials)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from concord_server.backends.connections import Connections
from concord_server.config import Settings
from concord_server.ports.rbac import (
    ApiKeyRecord,
    BindingRecord,
    Cursor,
    PermissionRule,
    PolicyStore,
    RoleRecord,
)


def _after(created_at: datetime, ident: str, cursor: Cursor | None) -> bool:
    """Whether a (created_at, id) position lies after the cursor."""
    return cursor is None or (created_at, ident) > (cursor.created_at, cursor.id)


class MemoryPolicyStore:
    """Dicts of roles, bindings and keys; every method runs without awaiting, hence atomically."""

    def __init__(self) -> None:
        self._roles: dict[str, RoleRecord] = {}
        self._bindings: dict[str, BindingRecord] = {}
        self._keys: dict[str, ApiKeyRecord] = {}

    async def create_role(self, role: RoleRecord) -> bool:
        """Stores a new role unless the name is taken."""
        if role.name in self._roles:
            return False
        self._roles[role.name] = role
        return True

    async def get_role(self, name: str) -> RoleRecord | None:
        """The role of that name."""
        return self._roles.get(name)

    async def list_roles(self, after: str, limit: int) -> list[RoleRecord]:
        """Roles after a name, in name order."""
        names = sorted(name for name in self._roles if name > after)
        return [self._roles[name] for name in names[:limit]]

    async def update_role(
        self,
        name: str,
        description: str,
        permissions: tuple[PermissionRule, ...],
        updated_at: datetime,
    ) -> RoleRecord | None:
        """Replaces a role's description and permissions."""
        role = self._roles.get(name)
        if role is None:
            return None
        updated = replace(
            role, description=description, permissions=permissions, updated_at=updated_at
        )
        self._roles[name] = updated
        return updated

    async def delete_role(self, name: str) -> bool:
        """Deletes a role and its bindings."""
        if self._roles.pop(name, None) is None:
            return False
        for binding_id in [b.binding_id for b in self._bindings.values() if b.role == name]:
            del self._bindings[binding_id]
        return True

    async def create_binding(self, binding: BindingRecord) -> bool:
        """Stores a binding when its role exists."""
        if binding.role not in self._roles:
            return False
        self._bindings[binding.binding_id] = binding
        return True

    async def list_bindings(
        self, subject: str, role: str, after: Cursor | None, limit: int
    ) -> list[BindingRecord]:
        """Bindings oldest first, filtered."""
        found = sorted(
            (
                b
                for b in self._bindings.values()
                if (not subject or b.subject == subject)
                and (not role or b.role == role)
                and _after(b.created_at, b.binding_id, after)
            ),
            key=lambda b: (b.created_at, b.binding_id),
        )
        return found[:limit]

    async def delete_binding(self, binding_id: str) -> bool:
        """Deletes a binding."""
        return self._bindings.pop(binding_id, None) is not None

    async def roles_of_subject(self, subject: str, now: datetime) -> list[RoleRecord]:
        """Roles of the subject's live bindings, in name order."""
        names = {b.role for b in self._bindings.values() if b.subject == subject and b.is_live(now)}
        return [self._roles[name] for name in sorted(names) if name in self._roles]

    async def create_api_key(self, key: ApiKeyRecord) -> bool:
        """Stores a new key unless the id is taken."""
        if key.key_id in self._keys:
            return False
        self._keys[key.key_id] = key
        return True

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """The key of that id."""
        return self._keys.get(key_id)

    async def list_api_keys(
        self, subject: str, after: Cursor | None, limit: int
    ) -> list[ApiKeyRecord]:
        """Keys oldest first, filtered."""
        found = sorted(
            (
                k
                for k in self._keys.values()
                if (not subject or k.subject == subject) and _after(k.created_at, k.key_id, after)
            ),
            key=lambda k: (k.created_at, k.key_id),
        )
        return found[:limit]

    async def revoke_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """Marks a key revoked."""
        key = self._keys.get(key_id)
        if key is None:
            return None
        revoked = replace(key, revoked=True)
        self._keys[key_id] = revoked
        return revoked

    async def ping(self) -> None:
        """Always answers."""


async def open_policy_store(url: str, settings: Settings, connections: Connections) -> PolicyStore:
    """Opens an empty in-process policy store for a memory:// URL."""
    return MemoryPolicyStore()
