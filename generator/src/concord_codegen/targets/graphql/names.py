"""GraphQL names of the contract's RPCs, fields and types (the server derives the same ones)."""

from __future__ import annotations

from enum import StrEnum

from concord_codegen.ir.model import Api, Idempotency, Method

QUERY = "Query"
MUTATION = "Mutation"
SUBSCRIPTION = "Subscription"
INPUT_ARGUMENT = "input"
_REQUEST = "Request"
_INPUT = "Input"


class Operation(StrEnum):
    """The root type an RPC's field belongs to."""

    QUERY = QUERY
    MUTATION = MUTATION
    SUBSCRIPTION = SUBSCRIPTION


def operation_of(method: Method) -> Operation:
    """Server streams are subscriptions; `NO_SIDE_EFFECTS` unary RPCs are queries; the rest
    (idempotent or not) change state and are mutations."""
    if method.server_streaming:
        return Operation.SUBSCRIPTION
    if method.idempotency is Idempotency.NO_SIDE_EFFECTS:
        return Operation.QUERY
    return Operation.MUTATION


def root_field_name(rpc: str) -> str:
    """`AcquireLock` -> `acquireLock`: the RPC name with its first letter in lower case."""
    return rpc[:1].lower() + rpc[1:]


def field_name(proto_name: str) -> str:
    """`fencing_token` -> `fencingToken`, as protobuf derives JSON names (`_x` -> `X`)."""
    out: list[str] = []
    upper = False
    for char in proto_name:
        if char == "_":
            upper = True
        else:
            out.append(char.upper() if upper else char)
            upper = False
    return "".join(out)


def output_type_name(api: Api, full_name: str) -> str:
    """The object type of a message: its flat schema name (`Lock`, `AcquireLockResponse`)."""
    return api.schema_name(full_name)


def input_type_name(api: Api, full_name: str) -> str:
    """The input type of a message: `AcquireLockRequest` -> `AcquireLockInput`,
    `Permission` -> `PermissionInput`, `CacheEntryInput` stays as it is."""
    base = api.schema_name(full_name)
    if base.endswith(_REQUEST):
        return base.removesuffix(_REQUEST) + _INPUT
    return base if base.endswith(_INPUT) else base + _INPUT
