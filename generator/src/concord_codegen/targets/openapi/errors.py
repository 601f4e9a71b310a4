"""Error responses derived from the catalogue, and the `x-concord-error-codes` extension."""

from __future__ import annotations

from typing import Any

from concord_codegen.ir.model import Api, ErrorCode
from concord_codegen.targets.openapi.schemas import ref

RESPONSE_REF = "#/components/responses/"
AUTH_STATUSES = frozenset({401, 403})
RETRY_AFTER_STATUSES = frozenset({429, 503})
ERROR_MEDIA_TYPES = ("application/problem+json", "application/json")
# Fixed names (not http.HTTPStatus phrases, which change between Python versions).
STATUS_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "Conflict",
    410: "Gone",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "UnprocessableEntity",
    429: "TooManyRequests",
    499: "ClientClosedRequest",
    500: "InternalServerError",
    501: "NotImplemented",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def status_name(status: int) -> str:
    """Component name of the response for an HTTP status."""
    return STATUS_NAMES.get(status, f"Status{status}")


def codes_by_status(api: Api) -> dict[int, list[ErrorCode]]:
    """The catalogue grouped by HTTP status, statuses ascending."""
    grouped: dict[int, list[ErrorCode]] = {}
    for code in api.errors:
        if code.http_status is not None:
            grouped.setdefault(code.http_status, []).append(code)
    return dict(sorted(grouped.items()))


def error_responses(api: Api, *, public: bool) -> dict[str, Any]:
    """`responses` entries of an operation: every catalogue status (401/403 unless public)."""
    return {
        str(status): {"$ref": RESPONSE_REF + status_name(status)}
        for status in codes_by_status(api)
        if not (public and status in AUTH_STATUSES)
    }


PROBLEM = "Problem"
PROBLEM_TYPE_BASE = "https://github.com/concordhq/concord/blob/main/docs/errors.md#"
PROBLEM_MEMBERS: dict[str, Any] = {
    "type": {
        "type": "string",
        "format": "uri",
        "description": f"The catalogue code's entry in docs/errors.md ({PROBLEM_TYPE_BASE}<code>).",
    },
    "title": {"type": "string", "description": "The code's short, fixed title."},
    "status": {"type": "integer", "description": "The HTTP status of this answer."},
    "detail": {"type": "string", "description": "This occurrence's explanation (= `message`)."},
}


def problem_schema(error: dict[str, Any]) -> dict[str, Any]:
    """The REST error body: an RFC 9457 problem whose extension members are the `Error`'s."""
    properties = {**PROBLEM_MEMBERS, **error.get("properties", {})}
    return {
        "type": "object",
        "description": (
            "An RFC 9457 problem document (`application/problem+json`). `type`, `title`, "
            "`status` and `detail` are RFC 9457's; `code`, `message`, `details` and "
            "`request_id` are those of `Error`, the same body gRPC carries in its status details."
        ),
        "properties": properties,
        "required": ["type", "title", "status", "detail", "code", "message", "request_id"],
    }


def response_components(api: Api) -> dict[str, Any]:
    """components.responses: one per catalogue status, with the `Problem` body."""
    error_schema = ref(PROBLEM)
    found: dict[str, Any] = {}
    for status, codes in codes_by_status(api).items():
        names = ", ".join(f"`{c.code}`" for c in codes)
        headers: dict[str, Any] = {"X-Request-ID": {"$ref": "#/components/headers/XRequestId"}}
        if status in RETRY_AFTER_STATUSES:
            headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
        found[status_name(status)] = {
            "description": f"Error; `code` is one of {names}.",
            "headers": headers,
            "content": {media: {"schema": error_schema} for media in ERROR_MEDIA_TYPES},
            "x-concord-error-codes": [c.code for c in codes],
        }
    return found


def error_codes_extension(api: Api) -> list[dict[str, Any]]:
    """The catalogue in declaration order, for `x-concord-error-codes`."""
    return [
        {
            "code": code.code,
            "http_status": code.http_status,
            "grpc_code": code.grpc_code,
            "retryable": code.retryable,
            "description": code.doc,
        }
        for code in api.errors
    ]
