"""GraphQL errors in the contract's terms: `extensions` carry `code`, `details`, `request_id`.

A resolver's failure is the dispatcher's ConcordError and keeps its code. An error without a
path comes from the document or the variables (syntax, validation, coercion): INVALID_ARGUMENT.
Anything else failed while answering: INTERNAL, without the details (they stay in the log).
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from concord_server.errors import ConcordError, ErrorCode

log = logging.getLogger("concord.graphql")

SYNTAX = "graphql_syntax"
INVALID_DOCUMENT = "graphql_validation"


class RequestError(Exception):
    """A GraphQL request that cannot run: the errors to answer and the HTTP status to use."""

    def __init__(self, errors: list[dict[str, Any]], status: int, headers: dict[str, str]) -> None:
        super().__init__(errors[0]["message"] if errors else "bad request")
        self.errors = errors
        self.status = status
        self.headers = headers


def concord_error_of(error: GraphQLError) -> ConcordError:
    """The catalogue error a GraphQL error stands for."""
    original = error.original_error
    if isinstance(original, ConcordError):
        return original
    if error.path is not None:
        return ConcordError(ErrorCode.INTERNAL, "internal error")
    reason = SYNTAX if isinstance(error, GraphQLSyntaxError) else INVALID_DOCUMENT
    return ConcordError(ErrorCode.INVALID_ARGUMENT, error.message, {"reason": reason})


def extensions(err: ConcordError, request_id: str) -> dict[str, Any]:
    """The `extensions` of an error: catalogue code, details and the request id."""
    return {"code": err.code.value, "details": err.details, "request_id": request_id}


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """One entry of a response's `errors`: message, locations, path, extensions."""
    err = concord_error_of(error)
    if err.code is ErrorCode.INTERNAL and not isinstance(error.original_error, ConcordError):
        log.error("unexpected failure at %s: %s", error.path, error.message, exc_info=error)
    entry: dict[str, Any] = {"message": err.message}
    if error.locations:
        entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        entry["path"] = list(error.path)
    entry["extensions"] = extensions(err, request_id)
    return entry


def plain_error(err: ConcordError, request_id: str) -> dict[str, Any]:
    """An error entry for a failure outside any document position (the request itself)."""
    return {"message": err.message, "extensions": extensions(err, request_id)}
