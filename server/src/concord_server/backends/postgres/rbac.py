"""PostgreSQL policy store: durable and shared by every server instance on the same database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from concord_server.backends.connections import Connections
from concord_server.backends.postgres.common import lock_ddl, postgres_errors, schema_of
from concord_server.config import Settings
from concord_server.ports.rbac import (
    ApiKeyRecord,
    BindingRecord,
    Cursor,
    PermissionRule,
    PolicyStore,
    RoleRecord,
)

_ROLE = "name, description, permissions, created_at, updated_at"
_BINDING = "binding_id, subject, role, created_at, expires_at"
_KEY = "key_id, name, subject, scopes, secret_hash, created_at, expires_at, revoked"


def schema_statements(schema: str) -> list[str]:
    """The DDL of the store in a schema (bindings cascade with their role)."""
    return [
        f'CREATE SCHEMA IF NOT EXISTS "{schema}"',
        f"""CREATE TABLE IF NOT EXISTS "{schema}".rbac_roles (
            name TEXT PRIMARY KEY, description TEXT NOT NULL, permissions JSONB NOT NULL,
            created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".rbac_bindings (
            binding_id TEXT PRIMARY KEY, subject TEXT NOT NULL,
            role TEXT NOT NULL REFERENCES "{schema}".rbac_roles(name) ON DELETE CASCADE,
            created_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ)""",
        f"""CREATE INDEX IF NOT EXISTS rbac_bindings_subject
            ON "{schema}".rbac_bindings (subject, role)""",
        f'CREATE INDEX IF NOT EXISTS rbac_bindings_role ON "{schema}".rbac_bindings (role)',
        f"""CREATE INDEX IF NOT EXISTS rbac_bindings_order
            ON "{schema}".rbac_bindings (created_at, binding_id)""",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".rbac_api_keys (
            key_id TEXT PRIMARY KEY, name TEXT NOT NULL, subject TEXT NOT NULL,
            scopes JSONB NOT NULL, secret_hash TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ, revoked BOOLEAN NOT NULL DEFAULT FALSE)""",
        f"""CREATE INDEX IF NOT EXISTS rbac_api_keys_order
            ON "{schema}".rbac_api_keys (created_at, key_id)""",
    ]


def role_of(row: Any) -> RoleRecord:
    """A role from a row of `_ROLE` columns."""
    rules = tuple(PermissionRule(a, r) for a, r in json.loads(row["permissions"]))
    return RoleRecord(row["name"], row["description"], rules, row["created_at"], row["updated_at"])


def binding_of(row: Any) -> BindingRecord:
    """A binding from a row of `_BINDING` columns."""
    return BindingRecord(
        row["binding_id"], row["subject"], row["role"], row["created_at"], row["expires_at"]
    )


def key_of(row: Any) -> ApiKeyRecord:
    """An API key from a row of `_KEY` columns."""
    return ApiKeyRecord(
        row["key_id"],
        row["name"],
        row["subject"],
        tuple(json.loads(row["scopes"])),
        row["secret_hash"],
        row["created_at"],
        row["expires_at"],
        row["revoked"],
    )


def affected(status: str) -> int:
    """The row count of a command status such as 'INSERT 0 1' or 'DELETE 2'."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresPolicyStore:
    """Tables rbac_roles, rbac_bindings and rbac_api_keys in one schema."""

    def __init__(self, pool: Any, schema: str) -> None:
        self._pool = pool
        self._roles = f'"{schema}".rbac_roles'
        self._bindings = f'"{schema}".rbac_bindings'
        self._keys = f'"{schema}".rbac_api_keys'
        self._schema = schema

    async def create_schema(self) -> None:
        """Creates the schema and tables if missing, serialised across instances."""
        with postgres_errors("RBAC"):
            async with self._pool.acquire() as conn, conn.transaction():
                await lock_ddl(conn)
                for statement in schema_statements(self._schema):
                    await conn.execute(statement)

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        with postgres_errors("RBAC"):
            return list(await self._pool.fetch(sql, *args))

    async def _execute(self, sql: str, *args: Any) -> int:
        with postgres_errors("RBAC"):
            return affected(await self._pool.execute(sql, *args))

    async def create_role(self, role: RoleRecord) -> bool:
        """Inserts a role unless the name is taken."""
        sql = f"INSERT INTO {self._roles} ({_ROLE}) VALUES ($1, $2, $3, $4, $5) "
        sql += "ON CONFLICT (name) DO NOTHING"
        rules = json.dumps([[p.action, p.resource] for p in role.permissions])
        args = (role.name, role.description, rules, role.created_at, role.updated_at)
        return await self._execute(sql, *args) == 1

    async def get_role(self, name: str) -> RoleRecord | None:
        """The role of that name."""
        rows = await self._fetch(f"SELECT {_ROLE} FROM {self._roles} WHERE name = $1", name)
        return role_of(rows[0]) if rows else None

    async def list_roles(self, after: str, limit: int) -> list[RoleRecord]:
        """Roles after a name, in name order (byte order, as the other stores)."""
        sql = f'SELECT {_ROLE} FROM {self._roles} WHERE name > $1 COLLATE "C" '
        sql += 'ORDER BY name COLLATE "C" LIMIT $2'
        return [role_of(row) for row in await self._fetch(sql, after, limit)]

    async def update_role(
        self,
        name: str,
        description: str,
        permissions: tuple[PermissionRule, ...],
        updated_at: datetime,
    ) -> RoleRecord | None:
        """Replaces a role's description and permissions."""
        sql = f"UPDATE {self._roles} SET description = $2, permissions = $3, updated_at = $4 "
        sql += f"WHERE name = $1 RETURNING {_ROLE}"
        rules = json.dumps([[p.action, p.resource] for p in permissions])
        rows = await self._fetch(sql, name, description, rules, updated_at)
        return role_of(rows[0]) if rows else None

    async def delete_role(self, name: str) -> bool:
        """Deletes a role; its bindings go with it (ON DELETE CASCADE)."""
        return await self._execute(f"DELETE FROM {self._roles} WHERE name = $1", name) == 1

    async def create_binding(self, binding: BindingRecord) -> bool:
        """Inserts a binding when its role exists (the foreign key guards a racing delete)."""
        sql = f"INSERT INTO {self._bindings} ({_BINDING}) "
        sql += f"SELECT $1, $2, name, $3, $4 FROM {self._roles} WHERE name = $5"
        args = (binding.binding_id, binding.subject, binding.created_at, binding.expires_at)
        with postgres_errors("RBAC"):
            try:
                return affected(await self._pool.execute(sql, *args, binding.role)) == 1
            except asyncpg.ForeignKeyViolationError:
                return False

    async def list_bindings(
        self, subject: str, role: str, after: Cursor | None, limit: int
    ) -> list[BindingRecord]:
        """Bindings oldest first, filtered."""
        sql = (
            f"SELECT {_BINDING} FROM {self._bindings} WHERE ($1 = '' OR subject = $1) "
            "AND ($2 = '' OR role = $2) AND ($3::timestamptz IS NULL "
            "OR (created_at, binding_id) > ($3::timestamptz, $4::text)) "
            "ORDER BY created_at, binding_id LIMIT $5"
        )
        at, ident = (after.created_at, after.id) if after else (None, "")
        return [binding_of(r) for r in await self._fetch(sql, subject, role, at, ident, limit)]

    async def delete_binding(self, binding_id: str) -> bool:
        """Deletes a binding."""
        sql = f"DELETE FROM {self._bindings} WHERE binding_id = $1"
        return await self._execute(sql, binding_id) == 1

    async def roles_of_subject(self, subject: str, now: datetime) -> list[RoleRecord]:
        """Roles of the subject's live bindings, in name order."""
        sql = (
            f"SELECT {_ROLE} FROM {self._roles} WHERE name IN (SELECT role FROM {self._bindings} "
            "WHERE subject = $1 AND (expires_at IS NULL OR expires_at > $2)) "
            'ORDER BY name COLLATE "C"'
        )
        return [role_of(row) for row in await self._fetch(sql, subject, now)]

    async def create_api_key(self, key: ApiKeyRecord) -> bool:
        """Inserts a key unless the id is taken."""
        sql = f"INSERT INTO {self._keys} ({_KEY}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        sql += "ON CONFLICT (key_id) DO NOTHING"
        scopes = json.dumps(list(key.scopes))
        args = (key.key_id, key.name, key.subject, scopes, key.secret_hash, key.created_at)
        return await self._execute(sql, *args, key.expires_at, key.revoked) == 1

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """The key of that id."""
        rows = await self._fetch(f"SELECT {_KEY} FROM {self._keys} WHERE key_id = $1", key_id)
        return key_of(rows[0]) if rows else None

    async def list_api_keys(
        self, subject: str, after: Cursor | None, limit: int
    ) -> list[ApiKeyRecord]:
        """Keys oldest first, filtered."""
        sql = (
            f"SELECT {_KEY} FROM {self._keys} WHERE ($1 = '' OR subject = $1) "
            "AND ($2::timestamptz IS NULL OR (created_at, key_id) > ($2::timestamptz, $3::text)) "
            "ORDER BY created_at, key_id LIMIT $4"
        )
        at, ident = (after.created_at, after.id) if after else (None, "")
        return [key_of(row) for row in await self._fetch(sql, subject, at, ident, limit)]

    async def revoke_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """Marks a key revoked."""
        sql = f"UPDATE {self._keys} SET revoked = TRUE WHERE key_id = $1 RETURNING {_KEY}"
        rows = await self._fetch(sql, key_id)
        return key_of(rows[0]) if rows else None

    async def ping(self) -> None:
        """Runs a trivial query."""
        await self._fetch("SELECT 1")


async def open_policy_store(url: str, settings: Settings, connections: Connections) -> PolicyStore:
    """Opens the store for a postgresql:// URL; `?schema=` picks the schema (default public)."""
    schema = schema_of(url)
    with postgres_errors("RBAC"):
        pool = await connections.postgres(url)
    store = PostgresPolicyStore(pool, schema)
    await store.create_schema()
    return store
