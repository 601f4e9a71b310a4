"""Split a request into path, body and query parameters for a `google.api.http` binding."""

from __future__ import annotations

import re
from collections.abc import Callable

from concord_codegen.diagnostics import Diagnostics, Location
from concord_codegen.ir.model import Field, HttpBinding, Message, QueryParam, TypeKind
from concord_codegen.loader.options import HttpRuleData

_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")
# Well-known types whose JSON form is a single string or scalar, so they fit in a query string.
QUERY_WELL_KNOWN = frozenset(
    f"google.protobuf.{name}"
    for name in [
        "Timestamp",
        "Duration",
        "FieldMask",
        "StringValue",
        "BytesValue",
        "BoolValue",
        "Int32Value",
        "Int64Value",
        "UInt32Value",
        "UInt64Value",
        "FloatValue",
        "DoubleValue",
    ]
)

MessageLookup = Callable[[str], Message | None]


def path_variables(template: str) -> tuple[tuple[str, str], ...]:
    """(field path, segment pattern) of each `{var}` / `{var=pattern}` in a path template."""
    return tuple((m[1].strip(), (m[2] or "*").strip()) for m in _VARIABLE.finditer(template))


def openapi_path(template: str) -> str:
    """The template with `{var=pattern}` reduced to `{var}`."""
    return _VARIABLE.sub(lambda m: "{" + m[1].strip() + "}", template)


def is_query_scalar(field: Field) -> bool:
    """True when the field is a scalar (or list of scalars) that fits in a query string."""
    if field.map is not None:
        return False
    kind = field.type.kind
    return kind in (TypeKind.SCALAR, TypeKind.ENUM) or (
        kind is TypeKind.WELL_KNOWN and field.type.name in QUERY_WELL_KNOWN
    )


def build_binding(
    rule: HttpRuleData,
    request: Message | None,
    lookup: MessageLookup,
    diagnostics: Diagnostics,
    location: Location,
) -> HttpBinding:
    """The IR binding of `rule`: path params, body field and flattened query params."""
    params = tuple(name for name, _ in path_variables(rule.path))
    body = rule.body or None
    in_path = {p.split(".", 1)[0] for p in params}
    rest = [f for f in request.fields if f.name not in in_path] if request else []
    query: tuple[QueryParam, ...] = ()
    if body == "*":
        body_fields = tuple(f.name for f in rest)
    else:
        body_fields = (body,) if body else ()
        others = [f for f in rest if f.name not in body_fields]
        query = _query_params(others, lookup, diagnostics, location)
    return HttpBinding(
        verb=rule.verb,
        path=openapi_path(rule.path),
        template=rule.path,
        path_params=params,
        body=body,
        body_fields=body_fields,
        query_params=query,
        response_body=rule.response_body or None,
    )


def _query_params(
    fields: list[Field], lookup: MessageLookup, diagnostics: Diagnostics, location: Location
) -> tuple[QueryParam, ...]:
    """Query params: scalar fields as is, message fields flattened one level (`parent.child`)."""
    found: list[QueryParam] = []
    for field in fields:
        if is_query_scalar(field):
            found.append(QueryParam(field.name, field))
            continue
        message = lookup(field.type.name) if field.type.kind is TypeKind.MESSAGE else None
        if message is None or field.repeated or field.map is not None:
            diagnostics.warning(
                location, f"field '{field.name}' cannot be sent in a query string; not exposed"
            )
            continue
        found.extend(_flatten(field, message, diagnostics, location))
    return tuple(found)


def _flatten(
    parent: Field, message: Message, diagnostics: Diagnostics, location: Location
) -> list[QueryParam]:
    """The scalar sub-fields of a message-typed query field, as `parent.child` params."""
    found: list[QueryParam] = []
    for child in message.fields:
        if is_query_scalar(child):
            found.append(QueryParam(f"{parent.name}.{child.name}", child))
        else:
            diagnostics.warning(
                location,
                f"field '{parent.name}.{child.name}' is nested too deep for a query string; "
                "not exposed",
            )
    return found
