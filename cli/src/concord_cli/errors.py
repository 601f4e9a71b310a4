"""Exit codes per error class, and how a failure is reported (catalogue code, request id)."""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any

from concord import APIConnectionError, ConcordAPIError, ConcordError, LockLostError
from rich.console import Console
from rich.markup import escape

from concord_cli.config import ConfigError


class Exit(IntEnum):
    """The process exit codes of `concord` (cli/README.md lists them)."""

    OK = 0
    FAILURE = 1  # anything not classified below
    USAGE = 2  # bad flags or arguments, a bad profile file
    INVALID = 3  # INVALID_ARGUMENT, PAYLOAD_TOO_LARGE, METHOD_NOT_ALLOWED
    AUTH = 4  # UNAUTHENTICATED, PERMISSION_DENIED
    NOT_FOUND = 5  # NOT_FOUND
    CONFLICT = 6  # ALREADY_EXISTS, LOCK_*, WRONG_EXPECTED_REVISION, PRECONDITION_FAILED, ...
    UNAVAILABLE = 7  # RATE_LIMITED, UNAVAILABLE: try again later
    SERVER = 8  # INTERNAL, and codes this CLI does not know
    CONNECTION = 9  # no answer: connection refused, timeout, broken stream
    LOCK_LOST = 10  # `locks run`: the hold was lost while the command ran
    SAGA_FAILED = 11  # `sagas start --wait`: the saga ended compensated or failed
    TIMEOUT = 12  # a --wait / --timeout of the CLI itself ran out


CODE_CLASSES: dict[str, Exit] = {
    "INVALID_ARGUMENT": Exit.INVALID,
    "PAYLOAD_TOO_LARGE": Exit.INVALID,
    "METHOD_NOT_ALLOWED": Exit.INVALID,
    "UNAUTHENTICATED": Exit.AUTH,
    "PERMISSION_DENIED": Exit.AUTH,
    "NOT_FOUND": Exit.NOT_FOUND,
    "ALREADY_EXISTS": Exit.CONFLICT,
    "LOCK_CONFLICT": Exit.CONFLICT,
    "LOCK_NOT_HELD": Exit.CONFLICT,
    "LOCK_EXPIRED": Exit.CONFLICT,
    "WRONG_EXPECTED_REVISION": Exit.CONFLICT,
    "PRECONDITION_FAILED": Exit.CONFLICT,
    "INVALID_STATE": Exit.CONFLICT,
    "TASK_LEASE_LOST": Exit.CONFLICT,
    "RATE_LIMITED": Exit.UNAVAILABLE,
    "UNAVAILABLE": Exit.UNAVAILABLE,
    "INTERNAL": Exit.SERVER,
}


class CLIError(Exception):
    """A failure the CLI itself reports, with its exit code."""

    def __init__(self, message: str, code: int = Exit.FAILURE) -> None:
        super().__init__(message)
        self.code = code


def exit_code(error: BaseException) -> int:
    """The exit code of an error."""
    if isinstance(error, CLIError):
        return error.code
    if isinstance(error, ConfigError):
        return Exit.USAGE
    if isinstance(error, ConcordAPIError):
        return CODE_CLASSES.get(error.code or "", Exit.SERVER)
    if isinstance(error, LockLostError):
        return Exit.LOCK_LOST
    if isinstance(error, APIConnectionError):
        return Exit.CONNECTION
    return Exit.FAILURE


def describe(error: BaseException) -> dict[str, Any]:
    """The error as data: message, and for catalogue errors code, status, request id, details."""
    out: dict[str, Any] = {"message": str(error), "exit_code": int(exit_code(error))}
    if isinstance(error, ConcordAPIError):
        out = {
            "code": error.code,
            "message": error.message,
            "http_status": error.status,
            "request_id": error.request_id,
            "details": error.details,
            "exit_code": int(exit_code(error)),
        }
    return out


def report(error: BaseException, stderr: Console, as_json: bool) -> None:
    """Print the error on stderr: one JSON object with `-o json|yaml`, else readable lines."""
    data = describe(error)
    if as_json:
        stderr.print_json(json.dumps({"error": data}, default=str), highlight=False)
        return
    if isinstance(error, ConcordAPIError):
        head = f"[bold red]error:[/] [bold]{escape(str(error.code))}[/] {escape(error.message)}"
        stderr.print(head)
        stderr.print(f"  request id: {escape(error.request_id or '-')}  (HTTP {error.status})")
        if error.details:
            stderr.print(f"  details: {escape(json.dumps(error.details, default=str))}")
    elif isinstance(error, ConcordError | CLIError | ConfigError):
        stderr.print(f"[bold red]error:[/] {escape(str(error))}")
    else:
        stderr.print(f"[bold red]error:[/] {escape(type(error).__name__)}: {escape(str(error))}")
