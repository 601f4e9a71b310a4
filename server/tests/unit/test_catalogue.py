"""The error catalogue in Python equals the contract's `ErrorCode` and its rules are usable."""

from __future__ import annotations

import grpc
import pytest

from concord_server._gen.concord.v1 import common_pb2
from concord_server.catalogue import error_rules, rule_of
from concord_server.errors import ConcordError, ErrorCode, invalid_argument, not_found

PROTO_CODES = [
    v.name.removeprefix("ERROR_CODE_")
    for v in common_pb2.ErrorCode.DESCRIPTOR.values
    if v.name != "ERROR_CODE_UNSPECIFIED"
]


def test_python_codes_equal_the_proto_codes_in_order() -> None:
    assert [c.value for c in ErrorCode] == PROTO_CODES
    assert all(c.name == c.value for c in ErrorCode)


def test_unspecified_is_not_a_code() -> None:
    with pytest.raises(ValueError):
        ErrorCode("UNSPECIFIED")
    assert "UNSPECIFIED" not in ErrorCode.__members__


def test_every_code_has_a_rule() -> None:
    assert set(error_rules()) == set(ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode))
def test_rule_has_http_status_and_grpc_code(code: ErrorCode) -> None:
    rule = rule_of(code)
    assert 400 <= rule.http_status <= 599
    status = getattr(grpc.StatusCode, rule.grpc_code)
    assert isinstance(status, grpc.StatusCode)
    assert status not in (grpc.StatusCode.OK, grpc.StatusCode.UNKNOWN)


@pytest.mark.parametrize(
    ("code", "http", "grpc_name", "retryable"),
    [
        (ErrorCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT", False),
        (ErrorCode.UNAUTHENTICATED, 401, "UNAUTHENTICATED", False),
        (ErrorCode.PERMISSION_DENIED, 403, "PERMISSION_DENIED", False),
        (ErrorCode.NOT_FOUND, 404, "NOT_FOUND", False),
        (ErrorCode.LOCK_CONFLICT, 409, "ABORTED", False),
        (ErrorCode.PRECONDITION_FAILED, 412, "FAILED_PRECONDITION", False),
        (ErrorCode.PAYLOAD_TOO_LARGE, 413, "RESOURCE_EXHAUSTED", False),
        (ErrorCode.RATE_LIMITED, 429, "RESOURCE_EXHAUSTED", True),
        (ErrorCode.UNAVAILABLE, 503, "UNAVAILABLE", True),
        (ErrorCode.INTERNAL, 500, "INTERNAL", True),
    ],
)
def test_known_rules(code: ErrorCode, http: int, grpc_name: str, retryable: bool) -> None:
    rule = rule_of(code)
    assert (rule.http_status, rule.grpc_code, rule.retryable) == (http, grpc_name, retryable)


def test_error_helpers() -> None:
    err = invalid_argument("bad ttl", "ttl", minimum="1s")
    assert err.code is ErrorCode.INVALID_ARGUMENT
    assert err.details == {"field": "ttl", "minimum": "1s"}
    assert str(err) == "bad ttl"
    missing = not_found("lock", "a")
    assert missing.code is ErrorCode.NOT_FOUND
    assert "'a'" in missing.message
    plain = ConcordError(ErrorCode.INTERNAL, "x")
    assert plain.details == {} and plain.headers == {}
    assert "INTERNAL" in repr(plain)
