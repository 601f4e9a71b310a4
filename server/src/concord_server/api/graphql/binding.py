"""Binds the generated schema to the contract at start-up: scalars, names, resolvers.

The schema (spec/graphql/schema.graphql) and the RPC table come from the same proto contract;
this module derives the link with the generator's naming rules (docs/graphql.md) and refuses to
start when they disagree, so a stale schema can never serve a field the server cannot answer.

- An RPC `AcquireLock` is the root field `acquireLock`: under Subscription for a server stream,
  under Query or Mutation otherwise. Mutation fields take the request as one `input` argument;
  Query and Subscription fields take the request's fields as arguments.
- A proto field `fencing_token` is the GraphQL field `fencingToken`: input fields and arguments
  get the proto name as `out_name` (resolvers receive the contract's JSON), object fields read
  the proto name from the contract JSON the codec makes of a response.
- A response without fields is a `Boolean` root field (true on success).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    assert_valid_schema,
    build_schema,
    get_named_type,
    is_specified_scalar_type,
)

from concord_server.api import codec
from concord_server.api.graphql.resolvers import (
    INPUT_ARGUMENT,
    subscription_source,
    unary_resolver,
)
from concord_server.api.graphql.scalars import bind_scalar
from concord_server.api.rpcs import Rpc

Descriptor = Any  # protobuf descriptors are reflective objects
_ROOTS = ("Query", "Mutation", "Subscription")


class SchemaMismatchError(RuntimeError):
    """The GraphQL schema does not match the contract the server was built from."""


def root_field_name(rpc: str) -> str:
    """`AcquireLock` -> `acquireLock`."""
    return rpc[:1].lower() + rpc[1:]


def field_name(proto_name: str) -> str:
    """`fencing_token` -> `fencingToken` (protobuf's JSON-name rule)."""
    head, *rest = proto_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass
class Binder:
    """Walks the schema from its root fields alongside the protobuf descriptors."""

    schema: GraphQLSchema

    def __post_init__(self) -> None:
        self.outputs: dict[str, str] = {}  # GraphQL type name -> message full name
        self.inputs: dict[str, str] = {}

    def bind(self, rpcs: tuple[Rpc, ...]) -> None:
        """Binds every RPC; fails on any field the contract does not explain."""
        for scalar in self.schema.type_map.values():
            if isinstance(scalar, GraphQLScalarType) and not is_specified_scalar_type(scalar):
                bind_scalar(scalar)
        roots = {name: self._root(name) for name in _ROOTS}
        bound: set[str] = set()
        for rpc in rpcs:
            kind, field = self._find(roots, rpc)
            self._bind_rpc(rpc, kind, field)
            bound.add(root_field_name(rpc.name))
        extra = sorted(n for fields in roots.values() for n in fields if n not in bound)
        if extra:
            raise SchemaMismatchError(f"root fields without an RPC: {extra}")

    def _root(self, name: str) -> dict[str, GraphQLField]:
        root = self.schema.get_type(name)
        return dict(root.fields) if isinstance(root, GraphQLObjectType) else {}

    def _find(self, roots: dict[str, dict[str, GraphQLField]], rpc: Rpc) -> tuple[str, Any]:
        name = root_field_name(rpc.name)
        kinds = ("Subscription",) if rpc.server_streaming else ("Query", "Mutation")
        for kind in kinds:
            if name in roots[kind]:
                return kind, roots[kind][name]
        raise SchemaMismatchError(f"{rpc.name} has no field {name} under {' or '.join(kinds)}")

    def _bind_rpc(self, rpc: Rpc, kind: str, field: GraphQLField) -> None:
        request, response = rpc.request_cls.DESCRIPTOR, rpc.response_cls.DESCRIPTOR
        wrapped = kind == "Mutation"
        if wrapped:
            argument = field.args.get(INPUT_ARGUMENT)
            if argument is not None:
                self._bind_input(get_named_type(argument.type), request)
            elif request.fields:
                raise SchemaMismatchError(f"{rpc.name}: mutation field without `input`")
        else:
            self._bind_arguments(rpc.name, field.args, request)
        empty = not response.fields
        if not empty:
            self._bind_output(get_named_type(field.type), response)
        if kind == "Subscription":
            field.subscribe = subscription_source(rpc)
            field.resolve = _event
        else:
            field.resolve = unary_resolver(rpc, wrapped=wrapped, empty=empty)

    def _bind_arguments(
        self, rpc: str, args: dict[str, GraphQLArgument], message: Descriptor
    ) -> None:
        by_name = _fields_by_graphql_name(message)
        for name, argument in args.items():
            proto = _matching(by_name, name, f"argument {rpc}.{name}")
            argument.out_name = proto.name
            self._check_nested(get_named_type(argument.type), proto, input_side=True)

    def _bind_input(self, gql_type: Any, message: Descriptor) -> None:
        if not isinstance(gql_type, GraphQLInputObjectType):
            raise SchemaMismatchError(f"{message.full_name} is not an input object type")
        if not self._claim(self.inputs, gql_type.name, message):
            return
        by_name = _fields_by_graphql_name(message)
        for name, field in gql_type.fields.items():
            proto = _matching(by_name, name, f"input field {gql_type.name}.{name}")
            field.out_name = proto.name
            self._check_nested(get_named_type(field.type), proto, input_side=True)

    def _bind_output(self, gql_type: Any, message: Descriptor) -> None:
        if not isinstance(gql_type, GraphQLObjectType):
            raise SchemaMismatchError(f"{message.full_name} is not an object type")
        if not self._claim(self.outputs, gql_type.name, message):
            return
        by_name = _fields_by_graphql_name(message)
        missing = sorted(set(by_name) - set(gql_type.fields))
        if missing:
            raise SchemaMismatchError(f"type {gql_type.name} lacks the fields {missing}")
        for name, field in gql_type.fields.items():
            proto = _matching(by_name, name, f"field {gql_type.name}.{name}")
            field.resolve = _reader(proto.name)
            self._check_nested(get_named_type(field.type), proto, input_side=False)

    def _check_nested(self, gql_type: Any, proto: Descriptor, *, input_side: bool) -> None:
        """Follows a message field into its type; checks that enums carry the wire values."""
        if isinstance(gql_type, GraphQLEnumType):
            _check_enum(gql_type, proto)
        elif isinstance(gql_type, GraphQLInputObjectType | GraphQLObjectType):
            if proto.message_type is None or codec.is_map(proto):
                raise SchemaMismatchError(f"{gql_type.name} stands for {proto.full_name}")
            if input_side:
                self._bind_input(gql_type, proto.message_type)
            else:
                self._bind_output(gql_type, proto.message_type)

    @staticmethod
    def _claim(seen: dict[str, str], name: str, message: Descriptor) -> bool:
        """True the first time a type is met (walk it); fails when it stands for two messages."""
        previous = seen.get(name)
        if previous is None:
            seen[name] = message.full_name
            return True
        if previous != message.full_name:
            raise SchemaMismatchError(f"{name} stands for {previous} and {message.full_name}")
        return False


def _fields_by_graphql_name(message: Descriptor) -> dict[str, Descriptor]:
    return {field_name(f.name): f for f in message.fields}


def _matching(by_name: dict[str, Descriptor], name: str, where: str) -> Descriptor:
    proto = by_name.get(name)
    if proto is None:
        raise SchemaMismatchError(f"{where} has no field in the contract")
    return proto


def _check_enum(gql_type: GraphQLEnumType, proto: Descriptor) -> None:
    """The enum's values are exactly the contract's wire names (never UNSPECIFIED)."""
    enum = proto.enum_type
    if enum is None:
        raise SchemaMismatchError(f"{gql_type.name} stands for the non-enum {proto.full_name}")
    wire = {codec.enum_wire_name(enum, v.number) for v in enum.values if v.number != 0}
    if wire != set(gql_type.values):
        raise SchemaMismatchError(f"enum {gql_type.name} differs from {enum.full_name}")


def _reader(proto_name: str) -> Callable[..., Any]:
    """The resolver of an object field: its value in the contract JSON of the parent."""

    def read(source: dict[str, Any], _info: Any) -> Any:
        return source.get(proto_name)

    return read


def _event(event: Any, _info: Any, **_args: Any) -> Any:
    """The resolver of a subscription field: the stream's message itself."""
    return event


@functools.lru_cache(maxsize=4)
def load_schema(sdl: str, rpcs: tuple[Rpc, ...]) -> GraphQLSchema:
    """The executable schema: the SDL bound to the RPCs, validated. Resolvers reach the
    dispatcher through each request's context, so one bound schema serves every app."""
    schema = build_schema(sdl)
    Binder(schema).bind(rpcs)
    assert_valid_schema(schema)
    return schema
