"""The policy store: roles, role bindings and API keys (only a hash of each key's secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PermissionRule:
    """An allowed action pattern on a resource pattern."""

    action: str
    resource: str


@dataclass(frozen=True)
class RoleRecord:
    """A named set of permissions."""

    name: str
    description: str
    permissions: tuple[PermissionRule, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BindingRecord:
    """A role granted to a subject, until `expires_at` when set."""

    binding_id: str
    subject: str
    role: str
    created_at: datetime
    expires_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        """Whether the binding still grants its role at `now`."""
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key's facts and the SHA-256 hex digest of its secret (never the secret)."""

    key_id: str
    name: str
    subject: str
    scopes: tuple[str, ...]
    secret_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False


@dataclass(frozen=True)
class Cursor:
    """A listing position for records ordered oldest first: after (created_at, id)."""

    created_at: datetime
    id: str


class PolicyStore(Protocol):
    """Durable RBAC state shared by every server instance using the same storage URL."""

    async def create_role(self, role: RoleRecord) -> bool:
        """Stores a new role; False (and no change) when the name is taken."""
        ...

    async def get_role(self, name: str) -> RoleRecord | None:
        """The role of that name, if any."""
        ...

    async def list_roles(self, after: str, limit: int) -> list[RoleRecord]:
        """Up to `limit` roles whose names sort after `after`, in name order."""
        ...

    async def update_role(
        self,
        name: str,
        description: str,
        permissions: tuple[PermissionRule, ...],
        updated_at: datetime,
    ) -> RoleRecord | None:
        """Replaces a role's description and permissions; None when there is no such role."""
        ...

    async def delete_role(self, name: str) -> bool:
        """Deletes a role and, atomically, its bindings; False when there was no such role."""
        ...

    async def create_binding(self, binding: BindingRecord) -> bool:
        """Stores a binding; False (and no change) when its role does not exist."""
        ...

    async def list_bindings(
        self, subject: str, role: str, after: Cursor | None, limit: int
    ) -> list[BindingRecord]:
        """Bindings oldest first after a cursor, filtered by subject and role when non-empty."""
        ...

    async def delete_binding(self, binding_id: str) -> bool:
        """Deletes a binding; False when there was no such binding."""
        ...

    async def roles_of_subject(self, subject: str, now: datetime) -> list[RoleRecord]:
        """The roles granted to a subject by bindings live at `now`, in name order, once each."""
        ...

    async def create_api_key(self, key: ApiKeyRecord) -> bool:
        """Stores a new API key; False (and no change) when its id is taken."""
        ...

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """The API key of that id, if any (revoked ones too)."""
        ...

    async def list_api_keys(
        self, subject: str, after: Cursor | None, limit: int
    ) -> list[ApiKeyRecord]:
        """API keys oldest first after a cursor, of one subject when `subject` is non-empty."""
        ...

    async def revoke_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """Marks a key revoked (idempotent) and returns it; None when there is no such key."""
        ...

    async def ping(self) -> None:
        """Raises when the storage does not answer."""
        ...
