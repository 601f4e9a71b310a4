"""Keep only the component schemas the operations use, directly or through other schemas."""

from __future__ import annotations

from typing import Any

from concord_codegen.targets.openapi.schemas import SCHEMA_REF, Schema


def schema_refs(node: Any) -> set[str]:
    """Names of the component schemas that `$ref`s anywhere inside `node` point to."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            target = item.get("$ref")
            if isinstance(target, str) and target.startswith(SCHEMA_REF):
                found.add(target.removeprefix(SCHEMA_REF))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def used_schemas(roots: Any, schemas: dict[str, Schema]) -> set[str]:
    """The schemas `roots` reference, and those they reference in turn."""
    seen: set[str] = set()
    pending = sorted(schema_refs(roots))
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending.extend(sorted(schema_refs(schemas[name]) - seen))
    return seen


def prune(schemas: dict[str, Schema], *roots: Any) -> dict[str, Schema]:
    """`schemas` without those no root reaches (request messages sent as `<Rpc>Body`, say).

    An unused schema is dead weight for client generators: OpenAPI Generator reports each one
    and still emits a model class for it.
    """
    keep = used_schemas(list(roots), schemas)
    return {name: schema for name, schema in schemas.items() if name in keep}
