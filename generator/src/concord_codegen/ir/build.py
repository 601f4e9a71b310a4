"""Assemble the IR `Api` from a loaded spec."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from google.protobuf.descriptor_pb2 import DescriptorProto, FileDescriptorProto

from concord_codegen.diagnostics import Diagnostics
from concord_codegen.ir.errors import ERROR_ENUM, ERROR_MESSAGE, build_catalogue
from concord_codegen.ir.messages import MessageBuilder
from concord_codegen.ir.model import Api, Enum, ErrorCode, Message, Service
from concord_codegen.ir.services import ServiceBuilder
from concord_codegen.loader import LoadedSpec
from concord_codegen.loader.source_info import FILE_ENUM, FILE_MESSAGE, FILE_SERVICE

# Files whose only job is to declare options; they add nothing to the API surface.
OPTIONS_FILE_SUFFIX = "/options.proto"


@dataclass
class _Types:
    """Top-level messages and enums of the contract, and the error catalogue."""

    messages: list[Message] = field(default_factory=list)
    enums: list[Enum] = field(default_factory=list)
    errors: tuple[ErrorCode, ...] = ()


def build_api(spec: LoadedSpec, version: str) -> tuple[Api, Diagnostics]:
    """Build the IR of every contract file (messages and enums first, then services)."""
    diagnostics = Diagnostics()
    types = _types(spec)
    partial = _api(spec, version, types, ())
    services = _services(spec, partial, diagnostics)
    return _api(spec, version, types, services), diagnostics


def _types(spec: LoadedSpec) -> _Types:
    """Messages and enums of every contract file (options.proto's messages left out)."""
    types = _Types()
    entries = _map_entries(spec.descriptor_set.file)
    for file in spec.contract_files:
        builder = MessageBuilder(spec.options, spec.sources[file.name], entries)
        if not file.name.endswith(OPTIONS_FILE_SUFFIX):
            types.messages += [
                builder.message(m, file.package, (FILE_MESSAGE, i))
                for i, m in enumerate(file.message_type)
            ]
        for i, proto in enumerate(file.enum_type):
            enum = builder.enum(proto, file.package, (FILE_ENUM, i))
            types.enums.append(enum)
            if proto.name == ERROR_ENUM:
                types.errors = build_catalogue(enum, proto, spec.options)
    return types


def _services(spec: LoadedSpec, partial: Api, diagnostics: Diagnostics) -> tuple[Service, ...]:
    """Every service of every contract file, resolving message references through `partial`."""
    services: list[Service] = []
    for file in spec.contract_files:
        builder = ServiceBuilder(
            spec.options, spec.sources[file.name], partial.message, diagnostics
        )
        services += [
            builder.service(s, file.package, (FILE_SERVICE, i)) for i, s in enumerate(file.service)
        ]
    return tuple(services)


def _api(spec: LoadedSpec, version: str, types: _Types, services: tuple[Service, ...]) -> Api:
    """An Api value from its parts; the package is that of the contract files."""
    packages = sorted({f.package for f in spec.contract_files})
    package = packages[0] if packages else ""
    error_message = f"{package}.{ERROR_MESSAGE}"
    has_error = any(m.full_name == error_message for m in types.messages)
    return Api(
        package=package,
        version=version,
        services=services,
        messages=tuple(types.messages),
        enums=tuple(types.enums),
        errors=types.errors,
        error_message=error_message if has_error else None,
        files=tuple(f.name for f in spec.contract_files),
    )


def _map_entries(files: Iterable[FileDescriptorProto]) -> dict[str, DescriptorProto]:
    """Every synthetic map-entry message of the whole set, by full name."""
    found: dict[str, DescriptorProto] = {}

    def walk(scope: str, protos: Iterable[DescriptorProto]) -> None:
        for proto in protos:
            name = f"{scope}.{proto.name}" if scope else proto.name
            if proto.options.map_entry:
                found[name] = proto
            walk(name, proto.nested_type)

    for file in files:
        walk(file.package, file.message_type)
    return found
