"""RBAC rules: roles, bindings with expiry, permission checks (deny by default), pagination."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from concord_server import page_tokens
from concord_server.clock import Clock
from concord_server.context import Principal
from concord_server.domain.patterns import matches, matches_any
from concord_server.errors import ConcordError, ErrorCode, invalid_argument, not_found
from concord_server.ports.rbac import BindingRecord, Cursor, PermissionRule, PolicyStore, RoleRecord

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the token of the next one (empty on the last page)."""

    items: list[T]
    next_page_token: str


def page_size(requested: int) -> int:
    """The page size to use: 0 means the default, never above the maximum."""
    if requested < 0:
        raise invalid_argument("page_size must not be negative", "page_size")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_page_token(kind: str, position: dict[str, Any]) -> str:
    """An opaque page token for a listing position."""
    return page_tokens.seal(f"rbac|{kind}", position)


def decode_page_token(kind: str, token: str) -> dict[str, Any]:
    """The listing position of a page token of this listing, or INVALID_ARGUMENT."""
    return page_tokens.unseal(f"rbac|{kind}", token)


def cursor_token(kind: str, cursor: Cursor) -> str:
    """The page token after a (created_at, id) position."""
    micros = int(cursor.created_at.timestamp() * 1_000_000)
    return encode_page_token(kind, {"t": micros, "i": cursor.id})


def token_cursor(kind: str, token: str) -> Cursor | None:
    """The (created_at, id) position of a page token; None for the first page."""
    if not token:
        return None
    position = decode_page_token(kind, token)
    micros = page_tokens.member(position, "t", int)
    ident = page_tokens.member(position, "i", str)
    return Cursor(datetime.fromtimestamp(micros / 1_000_000, UTC), ident)


def paginate(items: Sequence[T], limit: int, token_of: Callable[[T], str]) -> Page[T]:
    """A page from up to `limit + 1` fetched items: the extra one says another page exists."""
    if len(items) <= limit:
        return Page(list(items), "")
    page = list(items[:limit])
    return Page(page, token_of(page[-1]))


def permission_denied(principal: Principal, action: str, resource: str, why: str) -> ConcordError:
    """The PERMISSION_DENIED error naming the action and the resource."""
    return ConcordError(
        ErrorCode.PERMISSION_DENIED,
        f"{principal.subject!r} may not perform {action!r} on {resource!r}: {why}",
        {"action": action, "resource": resource, "subject": principal.subject},
    )


def role_allowing(roles: Sequence[RoleRecord], action: str, resource: str) -> str | None:
    """The name of the first role with a permission matching the action and the resource."""
    for role in roles:
        for rule in role.permissions:
            if matches(rule.action, action) and matches(rule.resource, resource):
                return role.name
    return None


class RbacService:
    """Roles, bindings and the permission check, over a policy store."""

    def __init__(self, store: PolicyStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def create_role(
        self, name: str, description: str, permissions: Sequence[PermissionRule]
    ) -> RoleRecord:
        """Creates a role; ALREADY_EXISTS when the name is taken."""
        now = self._clock.now()
        role = RoleRecord(name, description, tuple(permissions), now, now)
        if not await self._store.create_role(role):
            raise ConcordError(
                ErrorCode.ALREADY_EXISTS, f"role {name!r} already exists", {"resource": "role"}
            )
        return role

    async def get_role(self, name: str) -> RoleRecord:
        """The role; NOT_FOUND when there is none."""
        role = await self._store.get_role(name)
        if role is None:
            raise not_found("role", name)
        return role

    async def list_roles(self, size: int, token: str) -> Page[RoleRecord]:
        """Roles in name order, one page."""
        limit = page_size(size)
        after = ""
        if token:
            after = str(page_tokens.member(decode_page_token("roles", token), "n", str))
        roles = await self._store.list_roles(after, limit + 1)
        return paginate(roles, limit, lambda r: encode_page_token("roles", {"n": r.name}))

    async def update_role(
        self, name: str, description: str, permissions: Sequence[PermissionRule]
    ) -> RoleRecord:
        """Replaces a role's description and permissions; NOT_FOUND when there is none."""
        role = await self._store.update_role(
            name, description, tuple(permissions), self._clock.now()
        )
        if role is None:
            raise not_found("role", name)
        return role

    async def delete_role(self, name: str) -> bool:
        """Deletes a role and its bindings; False when there was none."""
        return await self._store.delete_role(name)

    async def create_binding(
        self, subject: str, role: str, expires_at: datetime | None
    ) -> BindingRecord:
        """Binds a role to a subject; NOT_FOUND for an unknown role, expiry must be ahead."""
        now = self._clock.now()
        if expires_at is not None and expires_at <= now:
            raise invalid_argument("expires_at must be in the future", "expires_at")
        binding = BindingRecord(uuid.uuid4().hex, subject, role, now, expires_at)
        if not await self._store.create_binding(binding):
            raise not_found("role", role)
        return binding

    async def list_bindings(
        self, subject: str, role: str, size: int, token: str
    ) -> Page[BindingRecord]:
        """Bindings oldest first (expired ones too, until deleted), one page."""
        limit = page_size(size)
        kind = f"bindings|{subject}|{role}"
        after = token_cursor(kind, token)
        found = await self._store.list_bindings(subject, role, after, limit + 1)
        return paginate(
            found, limit, lambda b: cursor_token(kind, Cursor(b.created_at, b.binding_id))
        )

    async def delete_binding(self, binding_id: str) -> bool:
        """Deletes a binding; False when there was none."""
        return await self._store.delete_binding(binding_id)

    async def role_names(self, subject: str) -> list[str]:
        """Names of the roles bound to a subject now."""
        return [role.name for role in await self._store.roles_of_subject(subject, self._now())]

    async def check(self, subject: str, action: str, resource: str) -> str | None:
        """The role allowing the subject the action on the resource now, or None (denied)."""
        roles = await self._store.roles_of_subject(subject, self._now())
        return role_allowing(roles, action, resource)

    async def authorize(self, principal: Principal, action: str, resource: str) -> None:
        """Allows the call iff the credential's scopes and a live role binding both permit it."""
        if principal.is_bootstrap_admin:
            return
        if not matches_any(principal.scopes, action):
            why = "the credential's scopes do not include this action"
            raise permission_denied(principal, action, resource, why)
        if await self.check(principal.subject, action, resource) is None:
            why = "no live role binding grants it"
            raise permission_denied(principal, action, resource, why)

    def _now(self) -> datetime:
        return self._clock.now()
