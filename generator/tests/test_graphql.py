"""The GraphQL target: a valid schema with every RPC reachable, stable names, golden output."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)

from concord_codegen.config import Config
from concord_codegen.headers import has_header
from concord_codegen.ir.model import Api, Idempotency, Method
from concord_codegen.pipeline import Generator
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.graphql.names import (
    field_name,
    input_type_name,
    operation_of,
    root_field_name,
)
from concord_codegen.targets.graphql.schema import SchemaBuilder
from concord_codegen.targets.graphql.target import SCHEMA_PATH, TARGET, block
from tests.conftest import MakeRoot
from tests.helpers import PREAMBLE, REAL_SPEC, build, fixture_protos
from tests.inline_protos import COMMON, LOCKS
from tests.test_golden import GOLDEN, update_requested


def schema_of(config: Config) -> tuple[Api, GraphQLSchema, str]:
    """The IR, the parsed schema and its text for a root."""
    outcome = Generator(config, [TARGET]).build()
    assert outcome.ok, [str(d) for d in outcome.diagnostics.errors]
    (document,) = outcome.files
    assert document.path == SCHEMA_PATH
    assert outcome.api is not None
    return outcome.api, build_schema(document.content), document.content


@pytest.fixture
def inline(make_root: MakeRoot) -> tuple[Api, GraphQLSchema, str]:
    return schema_of(make_root({"common.proto": COMMON, "locks.proto": LOCKS}))


@pytest.fixture(scope="module")
def real() -> tuple[Api, GraphQLSchema]:
    api, diagnostics = build(Config(root=REAL_SPEC.parent))
    assert not diagnostics.errors
    text = (REAL_SPEC / "graphql" / "schema.graphql").read_text(encoding="utf-8")
    return api, build_schema(text)


def _methods(api: Api) -> list[Method]:
    return [m for s in api.services for m in s.methods]


def _root(schema: GraphQLSchema, name: str) -> GraphQLObjectType:
    found = schema.get_type(name)
    assert isinstance(found, GraphQLObjectType)
    return found


def test_naming_rules() -> None:
    assert root_field_name("AcquireLock") == "acquireLock"
    assert root_field_name("WhoAmI") == "whoAmI"
    assert field_name("fencing_token") == "fencingToken"
    assert field_name("http2_port") == "http2Port"
    assert field_name("name") == "name"


def test_input_names(inline: tuple[Api, GraphQLSchema, str]) -> None:
    api, schema, _ = inline
    assert input_type_name(api, "concord.v1.AcquireLockRequest") == "AcquireLockInput"
    assert input_type_name(api, "concord.v1.Lock") == "LockInput"
    assert isinstance(schema.get_type("AcquireLockInput"), GraphQLInputObjectType)


def test_operations_follow_idempotency_and_streaming(
    inline: tuple[Api, GraphQLSchema, str],
) -> None:
    api, schema, _ = inline
    assert set(_root(schema, "Query").fields) == {"listLocks"}
    assert set(_root(schema, "Mutation").fields) == {"acquireLock", "putLabel"}
    assert set(_root(schema, "Subscription").fields) == {"watchLocks"}
    for method in _methods(api):
        expected = operation_of(method).value
        assert root_field_name(method.name) in _root(schema, expected).fields


def test_mutations_take_one_input_and_queries_the_fields(
    inline: tuple[Api, GraphQLSchema, str],
) -> None:
    _, schema, _ = inline
    acquire = _root(schema, "Mutation").fields["acquireLock"]
    assert list(acquire.args) == ["input"]
    assert str(acquire.args["input"].type) == "AcquireLockInput!"
    assert str(acquire.type) == "AcquireLockResponse"  # nullable: an error nulls only it
    listing = _root(schema, "Query").fields["listLocks"]
    assert "pageSize" in listing.args and "pageToken" in listing.args


def test_field_types_follow_presence(inline: tuple[Api, GraphQLSchema, str]) -> None:
    _, schema, _ = inline
    lock = _root(schema, "Lock")
    types = {name: str(f.type) for name, f in lock.fields.items()}
    assert types["name"] == "String!"
    assert types["fencingToken"] == "Int64!"
    assert types["expireTime"] == "Timestamp"
    assert types["labels"] == "JSONObject!"
    assert types["clientId"] == "String"  # oneof member: presence
    assert types["priority"] == "Int"  # proto3 optional: presence
    assert types["tags"] == "[String!]!"
    assert types["extra"] == "JSON"
    assert types["ttl"] == "Duration"


def test_inputs_drop_output_only_and_require_required(
    inline: tuple[Api, GraphQLSchema, str],
) -> None:
    _, schema, _ = inline
    lock_input = schema.get_type("LockInput")
    assert isinstance(lock_input, GraphQLInputObjectType)
    assert "fencingToken" not in lock_input.fields  # OUTPUT_ONLY
    assert isinstance(lock_input.fields["name"].type, GraphQLNonNull)
    assert not isinstance(lock_input.fields["tags"].type, GraphQLNonNull)


def test_enums_are_wire_values_and_nullable(inline: tuple[Api, GraphQLSchema, str]) -> None:
    _, schema, text = inline
    state = schema.get_type("ExpectedStreamState")
    assert isinstance(state, GraphQLEnumType)
    assert list(state.values) == ["NO_STREAM", "ANY"]  # never UNSPECIFIED
    assert "treat a value you do not know as\nunknown" in (state.description or "")
    assert "UNSPECIFIED" not in text.split("enum ErrorCode")[0]


def test_error_catalogue_is_documented(inline: tuple[Api, GraphQLSchema, str]) -> None:
    _, schema, _ = inline
    codes = schema.get_type("ErrorCode")
    assert isinstance(codes, GraphQLEnumType)
    assert list(codes.values) == [
        "INVALID_ARGUMENT",
        "LOCK_CONFLICT",
        "RATE_LIMITED",
        "UNAUTHENTICATED",
    ]
    assert "HTTP 409, gRPC ABORTED, retryable." in (codes.values["LOCK_CONFLICT"].description or "")


def test_root_descriptions_name_auth_idempotency_and_rpc(
    inline: tuple[Api, GraphQLSchema, str],
) -> None:
    _, schema, _ = inline
    acquire = _root(schema, "Mutation").fields["acquireLock"].description or ""
    assert "Needs the permission `locks.acquire` on `locks/{name}`." in acquire
    assert "`Idempotency-Key`" in acquire
    assert "RPC `concord.v1.LockService/AcquireLock`." in acquire
    label = _root(schema, "Mutation").fields["putLabel"].description or ""
    assert "Idempotency-Key" not in label  # IDEMPOTENT: retried freely
    watch = _root(schema, "Subscription").fields["watchLocks"].description or ""
    assert "Public: needs no credential." in watch


def test_file_carries_the_header(inline: tuple[Api, GraphQLSchema, str]) -> None:
    _, _, text = inline
    assert has_header(text)
    assert text.startswith("# generated by concord-gen")


def test_block_strings() -> None:
    assert block("") == ""
    assert block("One line.", "  ") == '  """One line."""\n'
    assert block('Says "hi"') == '"""\nSays "hi"\n"""\n'
    assert block('a """ b') == '"""a \\""" b"""\n'
    assert block("A\n\nB", "  ") == '  """\n  A\n\n  B\n  """\n'


def test_colliding_names_fail(make_root: MakeRoot) -> None:
    proto = (
        PREAMBLE
        + """
service S {
  rpc PutThing(PutThingRequest) returns (PutThingResponse) {
    option (google.api.http) = {post: "/v1/things" body: "*"};
  }
}
message Thing { string a = 1; }
message ThingInput { string b = 1; }
message PutThingRequest { Thing thing = 1; ThingInput other = 2; }
message PutThingResponse { string c = 1; }
"""
    )
    api, diagnostics = build(make_root({"common.proto": COMMON, "things.proto": proto}))
    assert not diagnostics.errors
    with pytest.raises(TargetError, match="ThingInput"):
        SchemaBuilder(api).build()


def test_empty_response_is_a_boolean(make_root: MakeRoot) -> None:
    _, schema, _ = schema_of(make_root(fixture_protos("widgets")))
    delete = _root(schema, "Mutation").fields["deleteWidget"]
    assert str(delete.type) == "Boolean"
    assert "`true` when the call succeeds" in (delete.description or "")


def test_widgets_schema_matches_golden(make_root: MakeRoot, request: pytest.FixtureRequest) -> None:
    _, _, text = schema_of(make_root(fixture_protos("widgets")))
    golden = GOLDEN / "widgets" / "schema.graphql"
    if update_requested(request.config):
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"{golden} missing: run with --update-golden"
    assert text == golden.read_text(encoding="utf-8")


def test_real_schema_reaches_every_rpc(real: tuple[Api, GraphQLSchema]) -> None:
    api, schema = real
    roots = {
        name: set(_root(schema, name).fields) for name in ("Query", "Mutation", "Subscription")
    }
    for method in _methods(api):
        kind = operation_of(method).value
        assert root_field_name(method.name) in roots[kind], method.name
        if method.http is not None and method.http.verb == "GET" and not method.server_streaming:
            assert kind == "Query", f"{method.name} is a GET but not a query"
    assert sum(len(v) for v in roots.values()) == len(_methods(api))


def test_real_schema_names_are_stable(real: tuple[Api, GraphQLSchema]) -> None:
    """Clients depend on these names; a change here is a breaking change of the API."""
    _, schema = real
    assert str(_root(schema, "Mutation").fields["acquireLock"].args["input"].type) == (
        "AcquireLockInput!"
    )
    assert str(_root(schema, "Query").fields["getLock"].type) == "GetLockResponse"
    assert str(_root(schema, "Query").fields["whoAmI"].type) == "WhoAmIResponse"
    assert str(_root(schema, "Subscription").fields["watchLocks"].type) == "WatchLocksResponse"
    assert str(_root(schema, "Lock").fields["fencingToken"].type) == "Int64!"
    listing = _root(schema, "ListLocksResponse")
    assert set(listing.fields) == {"locks", "nextPageToken"}
    for name in ("Timestamp", "Duration", "Int64", "JSON", "JSONObject"):
        assert schema.get_type(name) is not None, name


def test_reads_without_side_effects_are_queries(real: tuple[Api, GraphQLSchema]) -> None:
    api, schema = real
    queries = set(_root(schema, "Query").fields)
    for method in _methods(api):
        is_read = method.idempotency is Idempotency.NO_SIDE_EFFECTS and not method.server_streaming
        assert (root_field_name(method.name) in queries) == is_read, method.name


def test_committed_schema_is_in_the_manifest() -> None:
    manifest = (REAL_SPEC.parent / "generated-manifest.json").read_text(encoding="utf-8")
    assert f'"{SCHEMA_PATH}"' in manifest
    assert Path(REAL_SPEC.parent / SCHEMA_PATH).is_file()
