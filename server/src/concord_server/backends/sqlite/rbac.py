"""SQLite policy store: durable, shared by processes on one host through the same file."""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from concord_server.backends.connections import Connections
from concord_server.backends.failures import storage_errors
from concord_server.backends.sqlite.database import SqliteDatabase
from concord_server.config import Settings
from concord_server.ports.rbac import (
    ApiKeyRecord,
    BindingRecord,
    Cursor,
    PermissionRule,
    PolicyStore,
    RoleRecord,
)

# Every write is one statement on the file's writer thread. Bindings cascade with their role
# (foreign key).
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS rbac_roles (
        name TEXT PRIMARY KEY, description TEXT NOT NULL, permissions TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS rbac_bindings (
        binding_id TEXT PRIMARY KEY, subject TEXT NOT NULL,
        role TEXT NOT NULL REFERENCES rbac_roles(name) ON DELETE CASCADE,
        created_at INTEGER NOT NULL, expires_at INTEGER)""",
    "CREATE INDEX IF NOT EXISTS rbac_bindings_subject ON rbac_bindings (subject, role)",
    "CREATE INDEX IF NOT EXISTS rbac_bindings_role ON rbac_bindings (role)",
    "CREATE INDEX IF NOT EXISTS rbac_bindings_order ON rbac_bindings (created_at, binding_id)",
    """CREATE TABLE IF NOT EXISTS rbac_api_keys (
        key_id TEXT PRIMARY KEY, name TEXT NOT NULL, subject TEXT NOT NULL, scopes TEXT NOT NULL,
        secret_hash TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER,
        revoked INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS rbac_api_keys_order ON rbac_api_keys (created_at, key_id)",
)
_ROLE = "name, description, permissions, created_at, updated_at"
_BINDING = "binding_id, subject, role, created_at, expires_at"
_KEY = "key_id, name, subject, scopes, secret_hash, created_at, expires_at, revoked"


def to_micros(dt: datetime) -> int:
    """Microseconds since the epoch (ordered, exact)."""
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def from_micros(micros: int) -> datetime:
    """A UTC datetime from microseconds since the epoch."""
    seconds, rest = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest)


def optional_micros(micros: int | None) -> datetime | None:
    """A UTC datetime from nullable microseconds since the epoch."""
    return None if micros is None else from_micros(micros)


def permissions_json(permissions: tuple[PermissionRule, ...]) -> str:
    """Permissions as a JSON list of [action, resource]."""
    return json.dumps([[p.action, p.resource] for p in permissions])


def permissions_of(text: str) -> tuple[PermissionRule, ...]:
    """Permissions from their JSON form."""
    return tuple(PermissionRule(action, resource) for action, resource in json.loads(text))


def role_of(row: Any) -> RoleRecord:
    """A role from a row of `_ROLE` columns."""
    return RoleRecord(
        row[0], row[1], permissions_of(row[2]), from_micros(row[3]), from_micros(row[4])
    )


def binding_of(row: Any) -> BindingRecord:
    """A binding from a row of `_BINDING` columns."""
    return BindingRecord(row[0], row[1], row[2], from_micros(row[3]), optional_micros(row[4]))


def key_of(row: Any) -> ApiKeyRecord:
    """An API key from a row of `_KEY` columns."""
    scopes = tuple(json.loads(row[3]))
    return ApiKeyRecord(
        row[0],
        row[1],
        row[2],
        scopes,
        row[4],
        from_micros(row[5]),
        optional_micros(row[6]),
        bool(row[7]),
    )


def sqlite_errors() -> AbstractContextManager[None]:
    """SQLite failures of this store on the catalogue: UNAVAILABLE when the file is busy or
    cannot be read or written, INTERNAL otherwise (see backends/failures.py)."""
    return storage_errors("RBAC", "sqlite")


def _cursor_clause(id_column: str, after: Cursor | None) -> tuple[str, list[Any]]:
    """The WHERE fragment and parameters of an oldest-first cursor."""
    if after is None:
        return "1", []
    clause = f"(created_at, {id_column}) > (?, ?)"
    return clause, [to_micros(after.created_at), after.id]


class SqlitePolicyStore:
    """Tables rbac_roles, rbac_bindings and rbac_api_keys in the shared SQLite database."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def create_schema(self) -> None:
        """Creates the tables if missing."""

        def create(db: sqlite3.Connection) -> None:
            for statement in SCHEMA:
                db.execute(statement)

        with sqlite_errors():
            await self._db.write(create)

    async def _rows(self, sql: str, params: list[Any] | tuple[Any, ...]) -> list[Any]:
        """Rows of a read-only query."""
        with sqlite_errors():
            return await self._db.read(lambda db: db.execute(sql, params).fetchall())

    async def _returning(self, sql: str, params: list[Any] | tuple[Any, ...]) -> list[Any]:
        """Rows a writing statement returns (RETURNING)."""
        with sqlite_errors():
            return await self._db.write(lambda db: db.execute(sql, params).fetchall())

    async def _changes(self, sql: str, params: list[Any] | tuple[Any, ...]) -> int:
        """How many rows a writing statement changed."""
        with sqlite_errors():
            return await self._db.write(lambda db: db.execute(sql, params).rowcount)

    async def create_role(self, role: RoleRecord) -> bool:
        """Inserts a role unless the name is taken."""
        sql = f"INSERT INTO rbac_roles ({_ROLE}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
        params = (role.name, role.description, permissions_json(role.permissions))
        stamps = (to_micros(role.created_at), to_micros(role.updated_at))
        return await self._changes(sql, params + stamps) == 1

    async def get_role(self, name: str) -> RoleRecord | None:
        """The role of that name."""
        rows = await self._rows(f"SELECT {_ROLE} FROM rbac_roles WHERE name = ?", (name,))
        return role_of(rows[0]) if rows else None

    async def list_roles(self, after: str, limit: int) -> list[RoleRecord]:
        """Roles after a name, in name order."""
        sql = f"SELECT {_ROLE} FROM rbac_roles WHERE name > ? ORDER BY name LIMIT ?"
        return [role_of(row) for row in await self._rows(sql, (after, limit))]

    async def update_role(
        self,
        name: str,
        description: str,
        permissions: tuple[PermissionRule, ...],
        updated_at: datetime,
    ) -> RoleRecord | None:
        """Replaces a role's description and permissions."""
        sql = (
            "UPDATE rbac_roles SET description = ?, permissions = ?, updated_at = ? "
            f"WHERE name = ? RETURNING {_ROLE}"
        )
        params = (description, permissions_json(permissions), to_micros(updated_at), name)
        rows = await self._returning(sql, params)
        return role_of(rows[0]) if rows else None

    async def delete_role(self, name: str) -> bool:
        """Deletes a role; its bindings go with it (ON DELETE CASCADE)."""
        return await self._changes("DELETE FROM rbac_roles WHERE name = ?", (name,)) == 1

    async def create_binding(self, binding: BindingRecord) -> bool:
        """Inserts a binding when its role exists, in one statement."""
        expires = to_micros(binding.expires_at) if binding.expires_at else None
        sql = (
            f"INSERT INTO rbac_bindings ({_BINDING}) "
            "SELECT ?, ?, name, ?, ? FROM rbac_roles WHERE name = ?"
        )
        params = (binding.binding_id, binding.subject, to_micros(binding.created_at), expires)
        with sqlite_errors():
            try:
                changed = await self._db.write(
                    lambda db: db.execute(sql, (*params, binding.role)).rowcount
                )
            except sqlite3.IntegrityError:
                return False
        return bool(changed == 1)

    async def list_bindings(
        self, subject: str, role: str, after: Cursor | None, limit: int
    ) -> list[BindingRecord]:
        """Bindings oldest first, filtered."""
        clause, params = _cursor_clause("binding_id", after)
        sql = (
            f"SELECT {_BINDING} FROM rbac_bindings WHERE (? = '' OR subject = ?) "
            f"AND (? = '' OR role = ?) AND {clause} ORDER BY created_at, binding_id LIMIT ?"
        )
        rows = await self._rows(sql, [subject, subject, role, role, *params, limit])
        return [binding_of(row) for row in rows]

    async def delete_binding(self, binding_id: str) -> bool:
        """Deletes a binding."""
        sql = "DELETE FROM rbac_bindings WHERE binding_id = ?"
        return await self._changes(sql, (binding_id,)) == 1

    async def roles_of_subject(self, subject: str, now: datetime) -> list[RoleRecord]:
        """Roles of the subject's live bindings, in name order."""
        columns = ", ".join(f"r.{c.strip()}" for c in _ROLE.split(","))
        sql = (
            f"SELECT {columns} FROM rbac_roles r WHERE r.name IN (SELECT role FROM rbac_bindings "
            "WHERE subject = ? AND (expires_at IS NULL OR expires_at > ?)) ORDER BY r.name"
        )
        return [role_of(row) for row in await self._rows(sql, (subject, to_micros(now)))]

    async def create_api_key(self, key: ApiKeyRecord) -> bool:
        """Inserts a key unless the id is taken."""
        sql = f"INSERT INTO rbac_api_keys ({_KEY}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        sql += "ON CONFLICT DO NOTHING"
        expires = to_micros(key.expires_at) if key.expires_at else None
        params = (key.key_id, key.name, key.subject, json.dumps(list(key.scopes)), key.secret_hash)
        rest = (to_micros(key.created_at), expires, int(key.revoked))
        return await self._changes(sql, params + rest) == 1

    async def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """The key of that id."""
        rows = await self._rows(f"SELECT {_KEY} FROM rbac_api_keys WHERE key_id = ?", (key_id,))
        return key_of(rows[0]) if rows else None

    async def list_api_keys(
        self, subject: str, after: Cursor | None, limit: int
    ) -> list[ApiKeyRecord]:
        """Keys oldest first, filtered."""
        clause, params = _cursor_clause("key_id", after)
        sql = (
            f"SELECT {_KEY} FROM rbac_api_keys WHERE (? = '' OR subject = ?) AND {clause} "
            "ORDER BY created_at, key_id LIMIT ?"
        )
        return [key_of(row) for row in await self._rows(sql, [subject, subject, *params, limit])]

    async def revoke_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """Marks a key revoked."""
        sql = f"UPDATE rbac_api_keys SET revoked = 1 WHERE key_id = ? RETURNING {_KEY}"
        rows = await self._returning(sql, (key_id,))
        return key_of(rows[0]) if rows else None

    async def ping(self) -> None:
        """Runs a trivial query."""
        await self._rows("SELECT 1", ())


async def open_policy_store(url: str, settings: Settings, connections: Connections) -> PolicyStore:
    """Opens the policy store in the SQLite file of a sqlite:// URL, creating its tables."""
    store = SqlitePolicyStore(await connections.sqlite(settings.sqlite_path(url)))
    await store.create_schema()
    return store
