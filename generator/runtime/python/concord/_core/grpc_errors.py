"""A failed gRPC call as the SDK's typed error: the contract's `concord.v1.Error` from the status
details when the server sent one, else the catalogue code of the status alone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import grpc
import httpx
from google.protobuf.message import DecodeError
from google.rpc import status_pb2

from concord._core.errors_base import (
    APIConnectionError,
    APITimeoutError,
    ConcordAPIError,
    ConcordError,
    ErrorRegistry,
)
from concord._core.grpc_codec import to_contract
from concord._grpc_gen.concord.v1 import common_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"
ERROR_TYPE = "concord.v1.Error"
Metadata = Iterable[tuple[str, str | bytes]]


class OpenTimeout(grpc.RpcError):  # type: ignore[misc]
    """A server stream the server neither accepted nor refused within the opening timeout;
    a missed deadline to the retry rules (`APITimeoutError`)."""

    def code(self) -> grpc.StatusCode:
        """DEADLINE_EXCEEDED."""
        return grpc.StatusCode.DEADLINE_EXCEEDED

    def details(self) -> str:
        """What happened."""
        return "the server did not accept the stream in time"

    def initial_metadata(self) -> Metadata:
        """None arrived."""
        return ()

    def trailing_metadata(self) -> Metadata:
        """None arrived."""
        return ()


def headers_of(*metadata: Metadata | None) -> httpx.Headers:
    """Text metadata as headers (binary entries left out), e.g. for `Retry-After`."""
    pairs = [(k, v) for md in metadata for k, v in md or () if isinstance(v, str)]
    return httpx.Headers(pairs)


def error_body(metadata: Metadata | None) -> dict[str, Any] | None:
    """The contract JSON of the `concord.v1.Error` in the status details, if there is one."""
    raw = next((v for k, v in metadata or () if k == STATUS_DETAILS_KEY), None)
    if not isinstance(raw, bytes):
        return None
    try:
        status = status_pb2.Status.FromString(raw)
        for detail in status.details:
            if detail.type_url.rsplit("/", 1)[-1] == ERROR_TYPE:
                body = to_contract(common_pb2.Error.FromString(detail.value))
                return body if body.get("code") else None
    except DecodeError:
        return None
    return None


def map_error(error: grpc.RpcError, errors: ErrorRegistry, rpc: str) -> ConcordError:
    """The SDK error of a failed call (`error` is also its `grpc.Call`)."""
    call: Any = error
    code: grpc.StatusCode = call.code()
    trailing, initial = call.trailing_metadata(), call.initial_metadata()
    headers = headers_of(initial, trailing)
    message = str(call.details() or code.name)
    body = error_body(trailing)
    if body is not None:
        request_id = headers.get("x-request-id", "")
        return errors.build(errors.status_of(body), body, request_id=request_id)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return APITimeoutError(f"{rpc}: {message}")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
        return APIConnectionError(f"{rpc}: {code.name}: {message}")
    return _bare(errors, code, message, headers)


def _bare(
    errors: ErrorRegistry, code: grpc.StatusCode, message: str, headers: Mapping[str, str]
) -> ConcordAPIError:
    """The catalogue error a status means by itself (`ConcordAPIError` when none does)."""
    cls = errors.by_grpc.get(code.name, ConcordAPIError)
    return cls(
        message,
        status=cls.http_status or 500,
        code=cls.error_code or code.name,
        request_id=headers.get("x-request-id", ""),
    )
