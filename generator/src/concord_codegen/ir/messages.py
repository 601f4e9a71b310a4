"""Build IR messages and enums from descriptors and source info."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor_pb2 import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
)

from concord_codegen.ir.model import Enum, EnumValue, Field, FieldRules, Message, Oneof
from concord_codegen.ir.types import map_entry, type_ref
from concord_codegen.loader.options import OptionReader
from concord_codegen.loader.source_info import (
    ENUM_VALUE,
    MESSAGE_ENUM,
    MESSAGE_FIELD,
    MESSAGE_NESTED,
    MESSAGE_ONEOF,
    SourceIndex,
)
from concord_codegen.naming import screaming

Path = tuple[int, ...]
_RULE_NAMES = frozenset(FieldRules.__dataclass_fields__)


class MessageBuilder:
    """Turns the message and enum descriptors of one file into IR objects."""

    def __init__(
        self, options: OptionReader, source: SourceIndex, map_entries: dict[str, DescriptorProto]
    ) -> None:
        self._options = options
        self._source = source
        self._map_entries = map_entries

    def message(self, proto: DescriptorProto, scope: str, path: Path) -> Message:
        """One message with its nested messages and enums (map entries are not messages)."""
        full_name = f"{scope}.{proto.name}"
        nested = tuple(
            self.message(n, full_name, (*path, MESSAGE_NESTED, i))
            for i, n in enumerate(proto.nested_type)
            if not n.options.map_entry
        )
        return Message(
            name=proto.name,
            full_name=full_name,
            fields=tuple(
                self.field(f, proto, (*path, MESSAGE_FIELD, i)) for i, f in enumerate(proto.field)
            ),
            doc=self._source.doc(path),
            oneofs=self._oneofs(proto, path),
            nested=nested,
            enums=tuple(
                self.enum(e, full_name, (*path, MESSAGE_ENUM, i))
                for i, e in enumerate(proto.enum_type)
            ),
            location=self._source.location(path),
        )

    def field(self, proto: FieldDescriptorProto, parent: DescriptorProto, path: Path) -> Field:
        """One field: type, cardinality, oneof membership, behaviour and rules."""
        mapped = map_entry(proto, self._map_entries)
        behaviors = self._options.field_behavior(proto.options)
        in_oneof = proto.HasField("oneof_index") and not proto.proto3_optional
        return Field(
            name=proto.name,
            number=proto.number,
            type=mapped.value if mapped else type_ref(proto),
            doc=self._source.doc(path),
            repeated=proto.label == FieldDescriptorProto.LABEL_REPEATED and mapped is None,
            map=mapped,
            optional=proto.proto3_optional,
            oneof=parent.oneof_decl[proto.oneof_index].name if in_oneof else None,
            required="REQUIRED" in behaviors,
            output_only="OUTPUT_ONLY" in behaviors,
            behaviors=tuple(sorted(behaviors)),
            rules=_rules(self._options.field_rules(proto.options)),
            location=self._source.location(path),
        )

    def _oneofs(self, proto: DescriptorProto, path: Path) -> tuple[Oneof, ...]:
        """Real oneofs (proto3 `optional` creates synthetic ones, which are left out)."""
        members: dict[int, list[str]] = {}
        for f in proto.field:
            if f.HasField("oneof_index") and not f.proto3_optional:
                members.setdefault(f.oneof_index, []).append(f.name)
        return tuple(
            Oneof(
                name=proto.oneof_decl[i].name,
                fields=tuple(names),
                doc=self._source.doc((*path, MESSAGE_ONEOF, i)),
            )
            for i, names in sorted(members.items())
        )

    def enum(self, proto: EnumDescriptorProto, scope: str, path: Path) -> Enum:
        """One enum; value wire names drop the SCREAMING_SNAKE type prefix."""
        prefix = screaming(proto.name) + "_"
        values = tuple(
            _enum_value(v.name, v.number, prefix, self._source, (*path, ENUM_VALUE, i))
            for i, v in enumerate(proto.value)
        )
        return Enum(
            name=proto.name,
            full_name=f"{scope}.{proto.name}",
            values=values,
            doc=self._source.doc(path),
            location=self._source.location(path),
        )


def _enum_value(name: str, number: int, prefix: str, source: SourceIndex, path: Path) -> EnumValue:
    """An enum value with its stripped wire name; UNSPECIFIED is flagged."""
    wire = name.removeprefix(prefix) if name.startswith(prefix) and name != prefix else name
    return EnumValue(
        name=name,
        wire_name=wire,
        number=number,
        doc=source.doc(path),
        unspecified=wire == "UNSPECIFIED",
        location=source.location(path),
    )


def _rules(values: dict[str, Any]) -> FieldRules:
    """FieldRules from the dict of set `(concord.v1.rules)` fields (unknown ones ignored)."""
    known = {k: v for k, v in values.items() if k in _RULE_NAMES}
    return FieldRules(**known)
