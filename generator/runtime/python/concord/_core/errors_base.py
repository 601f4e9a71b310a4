"""The error hierarchy's roots and the mapping of an error response to its typed exception."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx


class ConcordError(Exception):
    """Root of every error this SDK raises."""


class APIConnectionError(ConcordError):
    """The server could not be reached, or the connection broke before an answer."""

    def __init__(self, message: str = "connection error", *, request: httpx.Request | None = None):
        super().__init__(message)
        self.message = message
        self.request = request


class APITimeoutError(APIConnectionError):
    """The call did not finish within its timeout."""

    def __init__(self, message: str = "request timed out", *, request: httpx.Request | None = None):
        super().__init__(message, request=request)


class SlowConsumerError(APIConnectionError):
    """The server closed a WebSocket subscription (code 4008) because the client read too slowly."""

    def __init__(self, message: str = "", *, close_code: int = 4008, reason: str = "") -> None:
        text = message or f"subscription closed by the server: {reason or 'slow consumer'}"
        super().__init__(text)
        self.close_code = close_code
        self.reason = reason


class CrossOriginRedirectError(ConcordError):
    """The server redirected to another origin; credentials are sent only to `base_url`'s."""

    def __init__(self, location: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(
            f"refused to follow a redirect to another origin ({location}): credentials go only "
            "to the base URL's origin; use that URL as base_url if it is the right server"
        )
        self.location = location
        self.request = request


class ConcordAPIError(ConcordError):
    """The server answered with an error of the contract's catalogue (`concord.v1.Error`)."""

    error_code: ClassVar[str] = ""
    retryable: ClassVar[bool] = False
    http_status: ClassVar[int] = 0

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        details: Mapping[str, Any] | None = None,
        request_id: str = "",
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: dict[str, Any] = dict(details or {})
        self.request_id = request_id
        self.response = response

    def __str__(self) -> str:
        suffix = f" (request_id={self.request_id})" if self.request_id else ""
        return f"{self.code} [{self.status}]: {self.message}{suffix}"


@dataclass(frozen=True)
class ErrorRegistry:
    """Typed exceptions by wire code, by HTTP status where one code owns that status, and by
    gRPC status name (`NOT_FOUND`) for a gRPC error without the contract's details."""

    by_code: Mapping[str, type[ConcordAPIError]] = field(default_factory=dict)
    by_status: Mapping[int, type[ConcordAPIError]] = field(default_factory=dict)
    by_grpc: Mapping[str, type[ConcordAPIError]] = field(default_factory=dict)

    def build(
        self,
        status: int,
        body: Any,
        *,
        request_id: str = "",
        response: httpx.Response | None = None,
    ) -> ConcordAPIError:
        """The exception for an error body (any JSON, or None when it was not JSON)."""
        data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
        code = str(data.get("code") or "")
        cls = self.by_code.get(code) or self.by_status.get(status) or ConcordAPIError
        details = data.get("details")
        return cls(
            str(data.get("message") or f"HTTP {status}"),
            status=status,
            code=code or cls.error_code or f"HTTP_{status}",
            details=details if isinstance(details, Mapping) else {},
            request_id=str(data.get("request_id") or request_id),
            response=response,
        )

    def from_response(self, response: httpx.Response) -> ConcordAPIError:
        """The exception for an HTTP error response (its body must have been read)."""
        try:
            body: Any = response.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        request_id = response.headers.get("x-request-id", "")
        return self.build(response.status_code, body, request_id=request_id, response=response)

    def from_event(self, data: str, response: httpx.Response) -> ConcordAPIError:
        """The exception for an `event: error` of a Server-Sent Events stream."""
        try:
            body: Any = json.loads(data)
        except ValueError:
            body = {"message": data}
        request_id = response.headers.get("x-request-id", "")
        return self.build(self.status_of(body), body, request_id=request_id, response=response)

    def from_message(self, body: Any, request_id: str = "") -> ConcordAPIError:
        """The exception for the error body of a WebSocket `error` message."""
        return self.build(self.status_of(body), body, request_id=request_id)

    def status_of(self, body: Any) -> int:
        """The HTTP status of an error body's code (500 for a code this SDK does not know)."""
        code = str(body.get("code", "")) if isinstance(body, Mapping) else ""
        cls = self.by_code.get(code)
        return cls.http_status if cls is not None and cls.http_status else 500
