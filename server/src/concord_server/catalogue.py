"""Reads the error catalogue's HTTP and gRPC mapping from the compiled contract."""

from __future__ import annotations

from functools import cache
from typing import Any

from concord_server._gen.concord.v1 import common_pb2, options_pb2
from concord_server.errors import ErrorCode, ErrorRule

_PREFIX = "ERROR_CODE_"


@cache
def error_rules() -> dict[ErrorCode, ErrorRule]:
    """Every catalogue code with its rule, as declared by `(concord.v1.error_rule)`."""
    rules: dict[ErrorCode, ErrorRule] = {}
    for value in common_pb2.ErrorCode.DESCRIPTOR.values:
        if value.number == 0:
            continue
        rule: Any = value.GetOptions().Extensions[options_pb2.error_rule]  # type: ignore[index]
        code = ErrorCode(value.name.removeprefix(_PREFIX))
        rules[code] = ErrorRule(rule.http_status, rule.grpc_code, rule.retryable)
    return rules


def rule_of(code: ErrorCode) -> ErrorRule:
    """The rule of one code."""
    return error_rules()[code]
