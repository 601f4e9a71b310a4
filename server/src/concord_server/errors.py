"""The error catalogue of the contract, as exceptions the domain raises and transports map."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Wire codes of `concord.v1.ErrorCode` (a unit test keeps them equal to the proto)."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    LOCK_CONFLICT = "LOCK_CONFLICT"
    LOCK_NOT_HELD = "LOCK_NOT_HELD"
    LOCK_EXPIRED = "LOCK_EXPIRED"
    WRONG_EXPECTED_REVISION = "WRONG_EXPECTED_REVISION"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    INVALID_STATE = "INVALID_STATE"
    TASK_LEASE_LOST = "TASK_LEASE_LOST"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    RATE_LIMITED = "RATE_LIMITED"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"


@dataclass(frozen=True)
class ErrorRule:
    """How one code is answered: HTTP status, gRPC status name, retryable."""

    http_status: int
    grpc_code: str
    retryable: bool


class ConcordError(Exception):
    """A failure the contract names: a catalogue code, a message and structured details."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = details or {}
        self.headers: dict[str, str] = headers or {}

    def __repr__(self) -> str:
        return f"ConcordError({self.code.value}, {self.message!r}, {self.details!r})"


def invalid_argument(message: str, field: str | None = None, **details: Any) -> ConcordError:
    """An INVALID_ARGUMENT error naming the offending field."""
    if field is not None:
        details = {"field": field, **details}
    return ConcordError(ErrorCode.INVALID_ARGUMENT, message, details)


def not_found(what: str, name: str) -> ConcordError:
    """A NOT_FOUND error for a named resource."""
    return ConcordError(ErrorCode.NOT_FOUND, f"{what} {name!r} not found", {"resource": what})
