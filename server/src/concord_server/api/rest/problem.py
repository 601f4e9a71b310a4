"""The contract's error body as an RFC 9457 problem document (`application/problem+json`).

The members of `concord.v1.Error` (`code`, `message`, `details`, `request_id`) are extension
members of the problem; RFC 9457's own `type`, `title`, `status` and `detail` say the same for
generic clients: `type` names the catalogue code's entry in docs/errors.md, `title` its short
name, `status` the HTTP status and `detail` the message.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from concord_server import json_text
from concord_server.catalogue import rule_of
from concord_server.errors import ConcordError, ErrorCode

log = logging.getLogger("concord.app")
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://github.com/concordhq/concord/blob/main/docs/errors.md#"


def problem_type(code: ErrorCode) -> str:
    """The problem type URI of a catalogue code (its anchor in docs/errors.md)."""
    return TYPE_BASE + code.value.lower()


def problem_title(code: ErrorCode) -> str:
    """The short, fixed title of a catalogue code: `LOCK_CONFLICT` -> `Lock conflict`."""
    return code.value.replace("_", " ").capitalize()


def error_body(code: ErrorCode, message: str, details: dict[str, Any], request_id: str) -> bytes:
    """The JSON bytes of an error body."""
    body = {
        "type": problem_type(code),
        "title": problem_title(code),
        "status": rule_of(code).http_status,
        "detail": message,
        "code": code.value,
        "message": message,
        "details": details,
        "request_id": request_id,
    }
    return json_text.dumps(body, default=str)


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


def failure_response(exc: Exception, method: str, path: str, request_id: str) -> Response:
    """The answer to any exception an endpoint raised: a ConcordError's own problem, anything
    else INTERNAL without its message (which is logged)."""
    if isinstance(exc, ConcordError):
        return problem_response(exc, request_id)
    log.exception("unhandled error on %s %s", method, path, exc_info=exc)
    return problem_response(ConcordError(ErrorCode.INTERNAL, "internal error"), request_id)
