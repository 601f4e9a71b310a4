"""OpenAPI 3.1 target: `spec/openapi/openapi.yaml`, derived from the IR."""

from __future__ import annotations

from typing import Any

from concord_codegen.config import Config
from concord_codegen.headers import with_header
from concord_codegen.ir.model import Api
from concord_codegen.targets.base import GeneratedFile, TargetContext
from concord_codegen.targets.openapi.errors import (
    PROBLEM,
    error_codes_extension,
    problem_schema,
    response_components,
)
from concord_codegen.targets.openapi.paths import PathBuilder, body_schema_name, needs_body_schema
from concord_codegen.targets.openapi.prune import prune
from concord_codegen.targets.openapi.schemas import Schema, SchemaBuilder, reachable
from concord_codegen.targets.openapi.yaml_dump import dump

OPENAPI_VERSION = "3.1.0"
TITLE = "Concord"
SERVER_URL = "http://localhost:8080"
DESCRIPTION = (
    "Concord coordination platform: locks with fencing tokens, sagas, event streams, cache, "
    "service discovery and RBAC. Generated from the proto contract (spec/proto); JSON uses "
    "proto field names, int64 as numbers, enums as strings without their type prefix."
)


def build_document(api: Api) -> dict[str, Any]:
    """The whole OpenAPI document as plain data, keys in a stable order."""
    schemas = SchemaBuilder(api)
    paths = PathBuilder(api, schemas).paths()
    responses = response_components(api)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": TITLE, "version": api.version, "description": DESCRIPTION},
        "servers": [{"url": SERVER_URL, "description": "Local development server"}],
        "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
        "tags": [_tag(s.name, s.doc) for s in api.services],
        "paths": paths,
        "components": {
            "schemas": prune(component_schemas(api, schemas), paths, responses),
            "responses": responses,
            "parameters": {"IdempotencyKey": IDEMPOTENCY_KEY},
            "headers": HEADERS,
            "securitySchemes": SECURITY_SCHEMES,
        },
        "x-concord-error-codes": error_codes_extension(api),
    }


def component_schemas(api: Api, schemas: SchemaBuilder) -> dict[str, Schema]:
    """Every message and enum, plus `<Rpc>Body` schemas, sorted by name (before pruning)."""
    methods = [m for s in api.services for m in s.methods]
    inputs = {m.input for m in methods}
    strict = reachable(api, sorted(inputs)) - reachable(api, sorted({m.output for m in methods}))
    found: dict[str, Schema] = {}
    for name, message in api.messages_by_name.items():
        found[api.schema_name(name)] = schemas.message_schema(
            message, strict=name in strict or name in inputs
        )
    for name, enum in api.enums_by_name.items():
        found[api.schema_name(name)] = schemas.enum_schema(enum)
    error = found.get(api.schema_name(api.error_message or f"{api.package}.Error"))
    if error is not None:
        found[PROBLEM] = problem_schema(error)
    for method in methods:
        request = api.message(method.input)
        if needs_body_schema(method) and request is not None and method.http is not None:
            top = frozenset(p.split(".", 1)[0] for p in method.http.path_params)
            body = schemas.message_schema(request, strict=True, exclude=top)
            params = ", ".join(f"`{p}`" for p in method.http.path_params)
            if params:
                body["description"] = f"Body of {method.name}: its request without {params}."
            found[body_schema_name(method)] = body
    return dict(sorted(found.items()))


def _tag(name: str, doc: str) -> dict[str, str]:
    return {"name": name, "description": doc} if doc else {"name": name}


IDEMPOTENCY_KEY: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Client-chosen key, unique per logical call and reused across its retries; the server "
        "replays the first answer for a repeated key."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
}
HEADERS: dict[str, Schema] = {
    "XRequestId": {
        "description": "Identifier of the request, also in the `request_id` of error bodies.",
        "schema": {"type": "string"},
    },
    "RetryAfter": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    },
}
SECURITY_SCHEMES: dict[str, Schema] = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


class OpenApiTarget:
    """Writes the OpenAPI document."""

    name = "openapi"

    def outputs(self, config: Config) -> tuple[str, ...]:
        """The one YAML file."""
        return (config.openapi_out,)

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Render the document with the generated-file header."""
        path = context.config.openapi_out
        text = dump(build_document(context.api))
        return [GeneratedFile(path, with_header(path, text))]


TARGET = OpenApiTarget()
