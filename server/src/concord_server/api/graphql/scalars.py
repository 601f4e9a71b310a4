"""The custom scalars of the generated schema, as thin as the contract's JSON mapping allows.

They check only the JSON shape of a value (a string, an integer, an object). Formats and ranges
(RFC 3339, `"30s"`, the rules of each field) are the codec's and the validator's job, so a bad
value gets the same INVALID_ARGUMENT, naming the same field, as over REST and gRPC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLScalarType,
    IntValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    value_from_ast_untyped,
)

INT64_MIN, INT64_MAX = -(2**63), 2**64 - 1  # int64 and uint64 share the scalar


@dataclass(frozen=True)
class ScalarCoercion:
    """How one scalar reads variables and literals and writes results."""

    input_value: Callable[[Any], Any]
    input_literal: Callable[[ValueNode], Any]
    output_value: Callable[[Any], Any] = lambda value: value


def _text(name: str) -> ScalarCoercion:
    def value(raw: Any) -> str:
        if not isinstance(raw, str):
            raise GraphQLError(f"{name} must be a string, got {_kind(raw)}")
        return raw

    def literal(node: ValueNode) -> str:
        if not isinstance(node, StringValueNode):
            raise GraphQLError(f"{name} must be a string literal", node)
        return node.value

    return ScalarCoercion(value, literal)


def _int64_value(raw: Any) -> int:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # JSON has one number type: 5.0 is 5
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise GraphQLError(f"Int64 must be an integer (a JSON number), got {_kind(raw)}")
    if not INT64_MIN <= raw <= INT64_MAX:
        raise GraphQLError(f"Int64 is out of range: {raw}")
    return raw


def _int64_literal(node: ValueNode) -> int:
    if not isinstance(node, IntValueNode):
        raise GraphQLError("Int64 must be an integer literal", node)
    return _int64_value(int(node.value))


def _json_literal(node: ValueNode) -> Any:
    return value_from_ast_untyped(node)


def _object_value(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise GraphQLError(f"JSONObject must be a JSON object, got {_kind(raw)}")
    return raw


def _object_literal(node: ValueNode) -> dict[str, Any]:
    if not isinstance(node, ObjectValueNode):
        raise GraphQLError("JSONObject must be an object literal", node)
    value: dict[str, Any] = value_from_ast_untyped(node)
    return value


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


SCALARS: dict[str, ScalarCoercion] = {
    "Timestamp": _text("Timestamp"),
    "Duration": _text("Duration"),
    "Int64": ScalarCoercion(_int64_value, _int64_literal),
    "JSON": ScalarCoercion(lambda raw: raw, _json_literal),
    "JSONObject": ScalarCoercion(_object_value, _object_literal),
}


def bind_scalar(scalar: GraphQLScalarType) -> None:
    """Gives a scalar of the generated schema its coercion; fails for an unknown one."""
    coercion = SCALARS.get(scalar.name)
    if coercion is None:
        raise RuntimeError(
            f"the GraphQL schema declares scalar {scalar.name}, which has no coercion"
        )
    scalar.coerce_input_value = coercion.input_value
    scalar.coerce_input_literal = coercion.input_literal
    scalar.coerce_output_value = coercion.output_value
