"""The start-up binding of the generated schema to the RPC table: every RPC reachable, and a
schema that drifted from the contract refused before it can serve anything."""

from __future__ import annotations

import pytest
from graphql import GraphQLInputObjectType, GraphQLObjectType

from concord_server.api.graphql import schema_path
from concord_server.api.graphql.binding import (
    SchemaMismatchError,
    field_name,
    load_schema,
    root_field_name,
)
from concord_server.api.rpcs import all_rpcs
from tests.fakes import make_settings

SDL = schema_path(make_settings()).read_text(encoding="utf-8")


def _root(name: str) -> GraphQLObjectType:
    root = load_schema(SDL, all_rpcs()).get_type(name)
    assert isinstance(root, GraphQLObjectType)
    return root


def test_every_rpc_has_a_bound_root_field() -> None:
    roots = {name: _root(name).fields for name in ("Query", "Mutation", "Subscription")}
    for rpc in all_rpcs():
        name = root_field_name(rpc.name)
        if rpc.server_streaming:
            assert roots["Subscription"][name].subscribe is not None, rpc.name
        else:
            field = roots["Query"].get(name) or roots["Mutation"].get(name)
            assert field is not None and field.resolve is not None, rpc.name
    assert sum(len(fields) for fields in roots.values()) == len(all_rpcs())


def test_names_are_stable() -> None:
    assert root_field_name("WhoAmI") == "whoAmI"
    assert field_name("fencing_token") == "fencingToken"
    assert "acquireLock" in _root("Mutation").fields
    assert "getLock" in _root("Query").fields
    assert "watchLocks" in _root("Subscription").fields
    assert "fencingToken" in _root("Lock").fields


def test_input_fields_carry_proto_names() -> None:
    schema = load_schema(SDL, all_rpcs())
    acquire = schema.get_type("AcquireLockInput")
    assert isinstance(acquire, GraphQLInputObjectType)
    assert acquire.fields["waitTimeout"].out_name == "wait_timeout"
    read = _root("Query").fields["readStream"]
    assert read.args["fromRevision"].out_name == "from_revision"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("  fencingToken: Int64!", "  fencingTokn: Int64!"), "lacks the fields .'fencingToken'."),
        (("  owner: String!\n", "  owner: String!\n  color: String\n"), "Lock.color"),
        (("  getLock(", "  getLok("), "GetLock has no field getLock"),
        (("type Query {", "type Query {\n  extra: Boolean"), "root fields without an RPC"),
        (("  ACQUIRED\n", "  ACQUIRED\n  STOLEN\n"), "enum LockEventType"),
        (("scalar Int64", "scalar Int64\nscalar Money"), "Money"),
    ],
)
def test_drift_is_refused_at_start(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in SDL
    with pytest.raises((SchemaMismatchError, RuntimeError), match=message):
        load_schema(SDL.replace(old, new, 1), all_rpcs())
