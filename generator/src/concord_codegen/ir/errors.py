"""Build the error catalogue from the `ErrorCode` enum and its `(concord.v1.error_rule)`s."""

from __future__ import annotations

from google.protobuf.descriptor_pb2 import EnumDescriptorProto

from concord_codegen.ir.model import Enum, ErrorCode
from concord_codegen.loader.options import OptionReader

ERROR_ENUM = "ErrorCode"
ERROR_MESSAGE = "Error"


def build_catalogue(
    enum: Enum, proto: EnumDescriptorProto, options: OptionReader
) -> tuple[ErrorCode, ...]:
    """One ErrorCode per non-UNSPECIFIED value; a missing rule leaves status fields None."""
    codes = []
    for value, value_proto in zip(enum.values, proto.value, strict=True):
        if value.unspecified:
            continue
        rule = options.error_rule(value_proto.options)
        codes.append(
            ErrorCode(
                code=value.wire_name,
                name=value.name,
                number=value.number,
                http_status=rule.http_status if rule else None,
                grpc_code=rule.grpc_code if rule else None,
                retryable=rule.retryable if rule else False,
                doc=value.doc,
                location=value.location,
            )
        )
    return tuple(codes)
