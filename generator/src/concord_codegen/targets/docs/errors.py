"""`docs/errors.md`: the error catalogue as a page, one anchor per code (the problem `type`s)."""

from __future__ import annotations

from concord_codegen.config import Config
from concord_codegen.headers import with_header
from concord_codegen.ir.model import Api, ErrorCode
from concord_codegen.targets.base import GeneratedFile, TargetContext

OUTPUT = "docs/errors.md"
INTRO = """# Error catalogue

Every failed call answers exactly one of these codes (`concord.v1.ErrorCode` in
`spec/proto/concord/v1/common.proto`, where this page comes from). REST answers the HTTP status
with an RFC 9457 problem document whose `type` is this page's anchor for the code
(`…/docs/errors.md#lock_conflict`); gRPC answers the status code with a `concord.v1.Error` in the
status details. *Retryable* codes are retried by the SDKs (see `docs/contract.md`). How the body
looks and what `details` hold is in [`contract.md`](contract.md#errors).

| Code | HTTP | gRPC | Retryable |
| --- | --- | --- | --- |
"""


def render(api: Api) -> str:
    """The page: a summary table, then a section per code in catalogue order."""
    rows = "".join(_row(code) for code in api.errors)
    sections = "".join(_section(code) for code in api.errors)
    return INTRO + rows + sections


def _row(code: ErrorCode) -> str:
    retryable = "yes" if code.retryable else "no"
    return (
        f"| [`{code.code}`](#{code.code.lower()}) | {code.http_status} | {code.grpc_code} "
        f"| {retryable} |\n"
    )


def _section(code: ErrorCode) -> str:
    return f"\n## {code.code}\n\n{code.doc or 'No description in the contract.'}\n"


class ErrorsPageTarget:
    """Writes docs/errors.md."""

    name = "docs"

    def outputs(self, config: Config) -> tuple[str, ...]:
        """The one page."""
        return (OUTPUT,)

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Render the page with the generated-file header."""
        return [GeneratedFile(OUTPUT, with_header(OUTPUT, render(context.api)))]


TARGET = ErrorsPageTarget()
