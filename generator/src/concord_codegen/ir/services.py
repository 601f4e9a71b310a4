"""Build IR services and methods (bindings, auth, idempotency, pagination)."""

from __future__ import annotations

from google.protobuf.descriptor_pb2 import MethodDescriptorProto, ServiceDescriptorProto

from concord_codegen.diagnostics import Diagnostics
from concord_codegen.ir import pagination
from concord_codegen.ir.http import MessageLookup, build_binding
from concord_codegen.ir.model import Auth, Idempotency, Method, Service
from concord_codegen.loader.options import OptionReader
from concord_codegen.loader.source_info import SERVICE_METHOD, SourceIndex

Path = tuple[int, ...]
_IDEMPOTENCY = {0: Idempotency.UNKNOWN, 1: Idempotency.NO_SIDE_EFFECTS, 2: Idempotency.IDEMPOTENT}


class ServiceBuilder:
    """Turns the service descriptors of one file into IR services."""

    def __init__(
        self,
        options: OptionReader,
        source: SourceIndex,
        lookup: MessageLookup,
        diagnostics: Diagnostics,
    ) -> None:
        self._options = options
        self._source = source
        self._lookup = lookup
        self._diagnostics = diagnostics

    def service(self, proto: ServiceDescriptorProto, package: str, path: Path) -> Service:
        """One service with its methods."""
        return Service(
            name=proto.name,
            full_name=f"{package}.{proto.name}",
            methods=tuple(
                self.method(m, (*path, SERVICE_METHOD, i)) for i, m in enumerate(proto.method)
            ),
            doc=self._source.doc(path),
            sdk_resource=self._options.sdk_name(proto.options, "ServiceOptions"),
            location=self._source.location(path),
        )

    def method(self, proto: MethodDescriptorProto, path: Path) -> Method:
        """One RPC: types, streaming, REST binding, auth, idempotency and pagination."""
        location = self._source.location(path)
        input_name, output_name = proto.input_type.lstrip("."), proto.output_type.lstrip(".")
        request, response = self._lookup(input_name), self._lookup(output_name)
        rule = self._options.http_rule(proto.options)
        binding = (
            build_binding(rule, request, self._lookup, self._diagnostics, location)
            if rule
            else None
        )
        auth = self._options.auth(proto.options)
        return Method(
            name=proto.name,
            input=input_name,
            output=output_name,
            doc=self._source.doc(path),
            client_streaming=proto.client_streaming,
            server_streaming=proto.server_streaming,
            http=binding,
            idempotency=_IDEMPOTENCY.get(proto.options.idempotency_level, Idempotency.UNKNOWN),
            auth=Auth(auth.public, auth.action, auth.resource) if auth else None,
            pagination=pagination.detect(request, response) if request and response else None,
            sdk_name=self._options.sdk_name(proto.options, "MethodOptions"),
            location=location,
        )
