"""Python refiner, part 1: IR fields as Python types, defaults and JSON (de)serialisers."""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from concord_codegen.ir.model import Api, Field, TypeKind, TypeRef
from concord_codegen.targets.base import TargetError

# Names a field must not take inside a model class body (they would shadow what it uses).
RESERVED_MEMBERS = frozenset(
    {"from_dict", "to_dict", "dataclasses", "datetime", "timedelta", "Any", "list", "dict"}
    | {"str", "int", "float", "bool", "bytes", "self"}
)
_INT_TYPES = frozenset(
    {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64"}
    | {"sfixed32", "sfixed64"}
)
_SCALARS: dict[str, tuple[str, str]] = {
    "string": ("str", '""'),
    "bool": ("bool", "False"),
    "double": ("float", "0.0"),
    "float": ("float", "0.0"),
    "bytes": ("bytes", 'b""'),
    **dict.fromkeys(_INT_TYPES, ("int", "0")),
}


@dataclass(frozen=True)
class Codec:
    """How one (singular) value is typed and converted: `{}` stands for the value.

    `default` is the Python default of a field without presence, `json_default` what a
    missing JSON member decodes from.
    """

    annotation: str
    default: str | None
    json_default: str
    decode: str
    encode: str
    has_presence: bool
    requires: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PyField:
    """A model field: Python name and type, dataclass default, and its JSON conversions."""

    name: str
    json_name: str
    doc: str
    annotation: str
    default: str | None
    from_expr: str
    encode: str
    nullable: bool
    requires: frozenset[str]
    param_annotation: str
    param_default: str | None
    to_model: str  # `{}` is the parameter
    required: bool


def py_name(name: str, reserved: frozenset[str] = RESERVED_MEMBERS) -> str:
    """A safe Python identifier for a proto name: keywords and reserved names get a `_`."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in reserved:
        return name + "_"
    return name


def codec(api: Api, ref: TypeRef) -> Codec:
    """The codec of one value of type `ref`."""
    if ref.kind is TypeKind.SCALAR:
        return _scalar_codec(ref.name)
    name = api.schema_name(ref.name)
    if ref.kind is TypeKind.ENUM:
        return Codec(name, None, "None", name + "({})", "str({})", True, frozenset({name}))
    if ref.kind is TypeKind.MESSAGE:
        decode = name + ".from_dict({})"
        return Codec(name, None, "{}", decode, "{}.to_dict()", True, frozenset({name}))
    return _well_known_codec(ref.short_name)


def _scalar_codec(proto: str) -> Codec:
    if proto not in _SCALARS:
        raise TargetError(f"python_sdk: unsupported scalar type {proto}")
    annotation, default = _SCALARS[proto]
    if proto == "bytes":
        needs = frozenset({"decode_bytes", "encode_bytes"})
        return Codec("bytes", default, '""', "decode_bytes({})", "encode_bytes({})", False, needs)
    decode = "float({})" if annotation == "float" else "{}"
    return Codec(annotation, default, default, decode, "{}", False)


def _well_known_codec(short: str) -> Codec:
    if short == "Timestamp":
        needs = frozenset({"datetime", "decode_timestamp", "encode_timestamp"})
        zero = '"1970-01-01T00:00:00Z"'
        return Codec(
            "datetime", None, zero, "decode_timestamp({})", "encode_timestamp({})", True, needs
        )
    if short == "Duration":
        needs = frozenset({"timedelta", "decode_duration", "encode_duration"})
        return Codec(
            "timedelta", None, '"0s"', "decode_duration({})", "encode_duration({})", True, needs
        )
    if short == "Struct":
        return Codec("dict[str, Any]", None, "{}", "dict({})", "dict({})", True, frozenset({"Any"}))
    if short == "ListValue":
        return Codec("list[Any]", None, "[]", "list({})", "list({})", True, frozenset({"Any"}))
    if short == "Value":  # None: absent; JSON_NULL: an explicit JSON null
        return Codec("Any", "None", "None", "{}", "value_out({})", True, frozenset({"Any"}))
    raise TargetError(f"python_sdk: unsupported well-known type google.protobuf.{short}")


def py_field(api: Api, field: Field, reserved: frozenset[str] = RESERVED_MEMBERS) -> PyField:
    """The Python view of one message field."""
    if field.map is not None:
        return _map_field(api, field, reserved)
    base = codec(api, field.type)
    name = py_name(field.name, reserved)
    get = f'data.get("{field.json_name}")'
    if field.repeated:
        return _repeated_field(field, name, base, get)
    is_value = base.annotation == "Any"
    required = field.required and field.type.kind is not TypeKind.ENUM
    nullable = not required and (field.optional or field.oneof is not None or base.has_presence)
    if nullable and not is_value:
        annotation: str = f"{base.annotation} | None"
        default: str | None = "None"
        decoder = _callable(base.decode)
        from_expr = get if decoder is None else f"opt({decoder}, {get})"
        requires = base.requires | ({"opt"} if decoder else set())
    elif is_value:  # a present JSON null decodes to JSON_NULL, an absent member to None
        annotation, default = base.annotation, base.default
        requires = base.requires | {"value_in", "value_out"}
        from_expr = f'value_in(data, "{field.json_name}")'
    else:
        annotation, default, requires = base.annotation, base.default, base.requires
        from_expr = base.decode.format(f'data.get("{field.json_name}", {base.json_default})')
    return PyField(
        name=name,
        json_name=field.json_name,
        doc=field.doc,
        annotation=annotation,
        default=None if required else default,
        from_expr=from_expr,
        encode=base.encode,
        nullable=nullable or is_value,
        requires=frozenset(requires),
        param_annotation=annotation,
        param_default=None if required else default,
        to_model="{}",
        required=required,
    )


def _repeated_field(field: Field, name: str, base: Codec, get: str) -> PyField:
    item = base.annotation
    decode = (
        f"list({get} or ())"
        if base.decode == "{}"
        else (f"[{base.decode.format('v')} for v in {get} or ()]")
    )
    encode = "list({})" if base.encode == "{}" else f"[{base.encode.format('v')} for v in {{}}]"
    return PyField(
        name=name,
        json_name=field.json_name,
        doc=field.doc,
        annotation=f"list[{item}]",
        default=None if field.required else "dataclasses.field(default_factory=list)",
        from_expr=decode,
        encode=encode,
        nullable=False,
        requires=base.requires | {"Sequence"},
        param_annotation=f"Sequence[{item}]",
        param_default=None if field.required else "()",
        to_model="list({})",
        required=field.required,
    )


def _map_field(api: Api, field: Field, reserved: frozenset[str]) -> PyField:
    assert field.map is not None
    key, value = codec(api, field.map.key), codec(api, field.map.value)
    name = py_name(field.name, reserved)
    get = f'data.get("{field.json_name}")'
    key_decode = "int(k)" if key.annotation == "int" else "k"
    key_encode = "str(k)" if key.annotation == "int" else "k"
    if key_decode == "k" and value.decode == "{}":
        from_expr = f"dict({get} or {{}})"
    else:
        from_expr = (
            f"{{{key_decode}: {value.decode.format('v')} for k, v in ({get} or {{}}).items()}}"
        )
    if key_encode == "k" and value.encode == "{}":
        encode = "dict({})"
    else:
        encode = f"{{{{{key_encode}: {value.encode.format('v')} for k, v in {{}}.items()}}}}"
    annotation = f"dict[{key.annotation}, {value.annotation}]"
    return PyField(
        name=name,
        json_name=field.json_name,
        doc=field.doc,
        annotation=annotation,
        default=None if field.required else "dataclasses.field(default_factory=dict)",
        from_expr=from_expr,
        encode=encode,
        nullable=False,
        requires=key.requires | value.requires | {"Mapping"},
        param_annotation=f"Mapping[{key.annotation}, {value.annotation}]"
        + ("" if field.required else " | None"),
        param_default=None if field.required else "None",
        to_model="dict({})" if field.required else "dict({} or {{}})",
        required=field.required,
    )


def _callable(decode: str) -> str | None:
    """`X.from_dict({})` -> `X.from_dict`: a one-argument decoder as a callable (None: identity)."""
    if decode == "{}":
        return None
    if not decode.endswith("({})"):
        raise TargetError(f"python_sdk: decoder {decode!r} is not a call")
    return decode[: -len("({})")]
