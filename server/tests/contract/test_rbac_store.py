"""One suite for every policy store backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from concord_server.backends import registry
from concord_server.backends.connections import Connections, url_option
from concord_server.config import Settings
from concord_server.ports.rbac import (
    ApiKeyRecord,
    BindingRecord,
    Cursor,
    PermissionRule,
    PolicyStore,
    RoleRecord,
)
from tests.conftest import backend_url

T0 = datetime(2030, 1, 1, tzinfo=UTC)
READ = PermissionRule("locks.read", "locks/*")
ACQUIRE = PermissionRule("locks.*", "locks/orders-*")


@dataclass
class Backend:
    """A backend under test: its URL and a way to open more stores on it."""

    kind: str
    url: str
    settings: Settings

    async def open(self, connections: Connections) -> PolicyStore:
        store: PolicyStore = await registry.open_backend(
            "rbac", self.url, self.settings, connections
        )
        return store


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, settings: Settings
) -> AsyncIterator[Backend]:
    url = backend_url(request.param, tmp_path)
    yield Backend(request.param, url, settings)
    if request.param == "postgres":
        conns = Connections()
        pool = await conns.postgres(url)
        await pool.execute(f'DROP SCHEMA IF EXISTS "{url_option(url, "schema")}" CASCADE')
        await conns.close()


@pytest.fixture
async def store(backend: Backend, connections: Connections) -> PolicyStore:
    return await backend.open(connections)


def role(name: str, *rules: PermissionRule, at: datetime = T0) -> RoleRecord:
    return RoleRecord(name, f"{name} role", tuple(rules), at, at)


def binding(
    ident: str, subject: str, role_name: str, at: datetime = T0, expires: datetime | None = None
) -> BindingRecord:
    return BindingRecord(ident, subject, role_name, at, expires)


def key(ident: str, subject: str = "svc:a", at: datetime = T0, **extra: object) -> ApiKeyRecord:
    fields: dict[str, object] = {
        "key_id": ident,
        "name": f"key {ident}",
        "subject": subject,
        "scopes": ("locks.*", "cache.get"),
        "secret_hash": "ab" * 32,
        "created_at": at,
        **extra,
    }
    return ApiKeyRecord(**fields)  # type: ignore[arg-type]


class TestRoles:
    async def test_create_get_round_trip(self, store: PolicyStore) -> None:
        created = role("ops", READ, ACQUIRE)
        assert await store.create_role(created)
        assert await store.get_role("ops") == created
        assert await store.get_role("missing") is None

    async def test_create_refuses_a_taken_name(self, store: PolicyStore) -> None:
        assert await store.create_role(role("ops", READ))
        assert not await store.create_role(role("ops", ACQUIRE, at=T0 + timedelta(1)))
        stored = await store.get_role("ops")
        assert stored is not None and stored.permissions == (READ,)

    async def test_concurrent_creates_have_one_winner(self, store: PolicyStore) -> None:
        results = await asyncio.gather(*(store.create_role(role("race", READ)) for _ in range(8)))
        assert sorted(results) == [False] * 7 + [True]

    async def test_list_in_name_order_with_cursor(self, store: PolicyStore) -> None:
        for name in ["b", "a", "C", "a.b", "a-b", "c"]:
            assert await store.create_role(role(name))
        names = [r.name for r in await store.list_roles("", 100)]
        assert names == sorted(names) == ["C", "a", "a-b", "a.b", "b", "c"]
        assert [r.name for r in await store.list_roles("a", 2)] == ["a-b", "a.b"]
        assert await store.list_roles("c", 10) == []

    async def test_update_replaces_description_and_permissions(self, store: PolicyStore) -> None:
        await store.create_role(role("ops", READ))
        later = T0 + timedelta(minutes=5)
        updated = await store.update_role("ops", "new", (ACQUIRE, READ), later)
        assert updated == RoleRecord("ops", "new", (ACQUIRE, READ), T0, later)
        assert await store.get_role("ops") == updated
        assert await store.update_role("missing", "x", (), later) is None

    async def test_delete_removes_the_role_and_its_bindings(self, store: PolicyStore) -> None:
        await store.create_role(role("ops", READ))
        await store.create_role(role("dev", READ))
        await store.create_binding(binding("b1", "alice", "ops"))
        await store.create_binding(binding("b2", "alice", "dev"))
        assert await store.delete_role("ops")
        assert not await store.delete_role("ops")
        assert await store.get_role("ops") is None
        remaining = await store.list_bindings("", "", None, 10)
        assert [b.binding_id for b in remaining] == ["b2"]
        # A new role of the same name does not inherit the old bindings.
        await store.create_role(role("ops", READ))
        assert [r.name for r in await store.roles_of_subject("alice", T0)] == ["dev"]


class TestBindings:
    async def test_create_needs_the_role(self, store: PolicyStore) -> None:
        assert not await store.create_binding(binding("b1", "alice", "missing"))
        assert await store.list_bindings("", "", None, 10) == []

    async def test_round_trip_with_and_without_expiry(self, store: PolicyStore) -> None:
        await store.create_role(role("ops", READ))
        forever = binding("b1", "alice", "ops")
        brief = binding("b2", "bob", "ops", T0, T0 + timedelta(seconds=30, microseconds=7))
        assert await store.create_binding(forever)
        assert await store.create_binding(brief)
        assert await store.list_bindings("", "", None, 10) == [forever, brief]

    async def test_list_filters_and_orders_oldest_first(self, store: PolicyStore) -> None:
        await store.create_role(role("ops"))
        await store.create_role(role("dev"))
        rows = [
            binding("x3", "alice", "ops", T0 + timedelta(seconds=2)),
            binding("x1", "alice", "dev", T0),
            binding("x2", "bob", "ops", T0 + timedelta(seconds=1)),
            binding("x0", "bob", "dev", T0 + timedelta(seconds=2)),
        ]
        for row in rows:
            assert await store.create_binding(row)
        ids = [b.binding_id for b in await store.list_bindings("", "", None, 10)]
        assert ids == ["x1", "x2", "x0", "x3"]
        assert [b.binding_id for b in await store.list_bindings("alice", "", None, 10)] == [
            "x1",
            "x3",
        ]
        assert [b.binding_id for b in await store.list_bindings("", "ops", None, 10)] == [
            "x2",
            "x3",
        ]
        assert [b.binding_id for b in await store.list_bindings("bob", "ops", None, 10)] == ["x2"]

    async def test_cursor_pages_through_ties(self, store: PolicyStore) -> None:
        await store.create_role(role("ops"))
        for ident in ["b", "a", "c", "d"]:
            await store.create_binding(binding(ident, "alice", "ops", T0))
        first = await store.list_bindings("", "", None, 2)
        assert [b.binding_id for b in first] == ["a", "b"]
        after = Cursor(first[-1].created_at, first[-1].binding_id)
        second = await store.list_bindings("", "", after, 10)
        assert [b.binding_id for b in second] == ["c", "d"]

    async def test_delete(self, store: PolicyStore) -> None:
        await store.create_role(role("ops"))
        await store.create_binding(binding("b1", "alice", "ops"))
        assert await store.delete_binding("b1")
        assert not await store.delete_binding("b1")
        assert await store.roles_of_subject("alice", T0) == []

    async def test_roles_of_subject_honours_expiry(self, store: PolicyStore) -> None:
        ops, dev, qa = role("ops", READ), role("dev", ACQUIRE), role("qa")
        for r in (ops, dev, qa):
            await store.create_role(r)
        until = T0 + timedelta(seconds=10)
        await store.create_binding(binding("b1", "alice", "ops"))
        await store.create_binding(binding("b2", "alice", "dev", T0, until))
        await store.create_binding(binding("b3", "alice", "dev"))  # the same role twice
        await store.create_binding(binding("b4", "alice", "qa", T0, until))
        await store.create_binding(binding("b5", "bob", "qa"))
        assert await store.roles_of_subject("alice", T0) == [dev, ops, qa]
        assert await store.roles_of_subject("alice", until) == [dev, ops]
        assert await store.roles_of_subject("nobody", T0) == []

    async def test_binding_racing_role_deletion_never_orphans(self, store: PolicyStore) -> None:
        await store.create_role(role("ops", READ))
        creates = [store.create_binding(binding(f"b{i}", "alice", "ops")) for i in range(10)]
        results = await asyncio.gather(store.delete_role("ops"), *creates)
        assert results[0] is True
        assert await store.list_bindings("", "ops", None, 100) == []
        assert await store.roles_of_subject("alice", T0) == []


class TestApiKeys:
    async def test_round_trip(self, store: PolicyStore) -> None:
        plain = key("k1")
        expiring = key("k2", "svc:b", T0 + timedelta(seconds=1), expires_at=T0 + timedelta(1))
        assert await store.create_api_key(plain)
        assert await store.create_api_key(expiring)
        assert await store.get_api_key("k1") == plain
        assert await store.get_api_key("k2") == expiring
        assert await store.get_api_key("k3") is None

    async def test_create_refuses_a_taken_id(self, store: PolicyStore) -> None:
        assert await store.create_api_key(key("k1", "svc:a"))
        assert not await store.create_api_key(key("k1", "svc:b"))
        stored = await store.get_api_key("k1")
        assert stored is not None and stored.subject == "svc:a"

    async def test_list_filters_and_pages_oldest_first(self, store: PolicyStore) -> None:
        await store.create_api_key(key("k3", "svc:a", T0))
        await store.create_api_key(key("k1", "svc:b", T0 + timedelta(seconds=1)))
        await store.create_api_key(key("k2", "svc:a", T0))
        assert [k.key_id for k in await store.list_api_keys("", None, 10)] == ["k2", "k3", "k1"]
        assert [k.key_id for k in await store.list_api_keys("svc:a", None, 10)] == ["k2", "k3"]
        first = await store.list_api_keys("", None, 1)
        rest = await store.list_api_keys("", Cursor(first[0].created_at, first[0].key_id), 10)
        assert [k.key_id for k in rest] == ["k3", "k1"]

    async def test_revoke_is_idempotent(self, store: PolicyStore) -> None:
        await store.create_api_key(key("k1"))
        revoked = await store.revoke_api_key("k1")
        assert revoked is not None and revoked.revoked
        again = await store.revoke_api_key("k1")
        assert again == revoked
        assert await store.get_api_key("k1") == revoked
        assert await store.revoke_api_key("missing") is None

    async def test_ping(self, store: PolicyStore) -> None:
        await store.ping()


class TestTwoInstances:
    """Two stores on one URL behave as two server processes sharing the engine."""

    @pytest.fixture
    async def second(self, backend: Backend) -> AsyncIterator[PolicyStore]:
        if backend.kind == "memory":
            pytest.skip("the memory store lives in one process")
        conns = Connections()
        yield await backend.open(conns)
        await conns.close()

    async def test_changes_are_seen_at_once(self, store: PolicyStore, second: PolicyStore) -> None:
        await store.create_role(role("ops", READ))
        assert await second.create_binding(binding("b1", "alice", "ops"))
        assert [r.name for r in await store.roles_of_subject("alice", T0)] == ["ops"]
        await second.create_api_key(key("k1"))
        await store.revoke_api_key("k1")
        seen = await second.get_api_key("k1")
        assert seen is not None and seen.revoked
        assert await second.delete_role("ops")
        assert await store.roles_of_subject("alice", T0) == []

    async def test_competing_creates_have_one_winner(
        self, store: PolicyStore, second: PolicyStore
    ) -> None:
        results = await asyncio.gather(
            *(s.create_role(role("race")) for s in (store, second) * 4),
            *(s.create_api_key(key("kx")) for s in (store, second) * 4),
        )
        assert sorted(results[:8]) == [False] * 7 + [True]
        assert sorted(results[8:]) == [False] * 7 + [True]
