"""The contract's error body (`concord.v1.Error`) as an HTTP response."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from concord_server.catalogue import rule_of
from concord_server.errors import ConcordError, ErrorCode

MEDIA_TYPE = "application/problem+json"


def error_body(code: ErrorCode, message: str, details: dict[str, Any], request_id: str) -> bytes:
    """The JSON bytes of an error body."""
    body = {"code": code.value, "message": message, "details": details, "request_id": request_id}
    return json.dumps(body, separators=(",", ":"), default=str).encode()


def problem_response(err: ConcordError, request_id: str) -> Response:
    """An HTTP response for a ConcordError, with the catalogue's status and its headers."""
    headers = {"X-Request-ID": request_id, **err.headers}
    if err.code is ErrorCode.UNAUTHENTICATED:  # RFC 9110: a 401 names the accepted scheme
        headers.setdefault("WWW-Authenticate", 'Bearer realm="concord"')
    return Response(
        error_body(err.code, err.message, err.details, request_id),
        status_code=rule_of(err.code).http_status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )
