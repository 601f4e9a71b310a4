"""Detect AIP-158 pagination (contract.md): page_size/page_token in, next_page_token out."""

from __future__ import annotations

from concord_codegen.ir.model import Field, Message, Pagination, TypeKind

PAGE_SIZE = "page_size"
PAGE_TOKEN = "page_token"
NEXT_PAGE_TOKEN = "next_page_token"


def _scalar(message: Message, name: str, proto_type: str) -> Field | None:
    """The singular scalar field `name` of type `proto_type`, or None."""
    field = message.get_field(name)
    ok = (
        field is not None
        and field.type.kind is TypeKind.SCALAR
        and field.type.name == proto_type
        and not field.repeated
    )
    return field if ok else None


def looks_paginated(request: Message) -> bool:
    """True when the request has a page_size or page_token field (so it means to paginate)."""
    return request.get_field(PAGE_SIZE) is not None or request.get_field(PAGE_TOKEN) is not None


def item_fields(response: Message) -> list[Field]:
    """The repeated (non-map) fields of a response."""
    return [f for f in response.fields if f.repeated]


def detect(request: Message, response: Message) -> Pagination | None:
    """The pagination of an RPC, or None unless every AIP-158 condition holds."""
    size = _scalar(request, PAGE_SIZE, "int32")
    token = _scalar(request, PAGE_TOKEN, "string")
    next_token = _scalar(response, NEXT_PAGE_TOKEN, "string")
    items = item_fields(response)
    if size is None or token is None or next_token is None or len(items) != 1:
        return None
    return Pagination(
        page_size_field=size.name,
        page_token_field=token.name,
        next_page_token_field=next_token.name,
        items_field=items[0].name,
    )


def problems(request: Message, response: Message) -> list[str]:
    """Why a request that looks paginated is not (empty when it is, or does not look so)."""
    if not looks_paginated(request):
        return []
    found = []
    if _scalar(request, PAGE_SIZE, "int32") is None:
        found.append("request needs 'int32 page_size'")
    if _scalar(request, PAGE_TOKEN, "string") is None:
        found.append("request needs 'string page_token'")
    if _scalar(response, NEXT_PAGE_TOKEN, "string") is None:
        found.append(f"response {response.name} needs 'string next_page_token'")
    items = item_fields(response)
    if len(items) != 1:
        found.append(
            f"response {response.name} needs exactly one repeated field (has {len(items)})"
        )
    return found
