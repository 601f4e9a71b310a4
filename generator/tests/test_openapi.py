"""The OpenAPI target on an inline contract: mapping rules of contract.md."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from concord_codegen.ir.model import TypeKind, TypeRef
from concord_codegen.targets.openapi.document import build_document
from concord_codegen.targets.openapi.paths import summary
from concord_codegen.targets.openapi.prune import used_schemas
from concord_codegen.targets.openapi.schemas import DURATION_PATTERN, SchemaBuilder
from concord_codegen.targets.openapi.yaml_dump import dump
from tests.conftest import MakeRoot
from tests.helpers import build
from tests.inline_protos import COMMON, LOCKS

Doc = dict[str, Any]


@pytest.fixture
def doc(make_root: MakeRoot) -> Doc:
    api, diagnostics = build(make_root({"common.proto": COMMON, "locks.proto": LOCKS}))
    assert not diagnostics.errors
    document: Doc = yaml.safe_load(dump(build_document(api)))
    return document


def test_document_is_valid_openapi_3_1(doc: Doc) -> None:
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_operation_ids_and_summaries(doc: Doc) -> None:
    acquire = doc["paths"]["/v1/locks/{name}:acquire"]["post"]
    assert acquire["operationId"] == "acquireLock"
    assert acquire["summary"] == "Acquire a lock."
    assert acquire["tags"] == ["LockService"]
    assert acquire["x-concord-rpc"] == "concord.v1.LockService/AcquireLock"


def test_body_schema_without_path_params(doc: Doc) -> None:
    acquire = doc["paths"]["/v1/locks/{name}:acquire"]["post"]
    body = acquire["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AcquireLockBody"}
    schema = doc["components"]["schemas"]["AcquireLockBody"]
    assert list(schema["properties"]) == ["ttl", "expected"]
    assert schema["additionalProperties"] is False
    assert acquire["parameters"][0] == {
        "name": "name",
        "in": "path",
        "required": True,
        "description": "Name.",
        "schema": {"type": "string"},
    }


def test_idempotency_key_only_on_unsafe_mutations(doc: Doc) -> None:
    key = {"$ref": "#/components/parameters/IdempotencyKey"}
    assert key in doc["paths"]["/v1/locks/{name}:acquire"]["post"]["parameters"]
    assert key not in doc["paths"]["/v1/locks/{name}/label"]["put"]["parameters"]
    assert key not in doc["paths"]["/v1/locks"]["get"]["parameters"]


def test_query_params_and_pagination(doc: Doc) -> None:
    op = doc["paths"]["/v1/locks"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert list(params) == ["page_size", "page_token", "filter.prefix", "filter.states", "names"]
    assert params["filter.states"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/ExpectedStreamState"},
    }
    assert op["x-concord-pagination"]["items"] == "locks"


def test_error_responses_follow_the_catalogue(doc: Doc) -> None:
    acquire = doc["paths"]["/v1/locks/{name}:acquire"]["post"]["responses"]
    assert list(acquire) == ["200", "400", "401", "409", "429"]
    assert acquire["409"] == {"$ref": "#/components/responses/Conflict"}
    watch = doc["paths"]["/v1/locks:watch"]["get"]
    assert "401" not in watch["responses"] and watch["security"] == []
    conflict = doc["components"]["responses"]["Conflict"]
    assert set(conflict["content"]) == {"application/problem+json", "application/json"}
    assert conflict["x-concord-error-codes"] == ["LOCK_CONFLICT"]
    assert "Retry-After" in doc["components"]["responses"]["TooManyRequests"]["headers"]
    codes = {c["code"]: c for c in doc["x-concord-error-codes"]}
    assert codes["LOCK_CONFLICT"] == {
        "code": "LOCK_CONFLICT",
        "http_status": 409,
        "grpc_code": "ABORTED",
        "retryable": True,
        "description": "Lock taken.",
    }


def test_server_streaming_is_sse(doc: Doc) -> None:
    ok = doc["paths"]["/v1/locks:watch"]["get"]["responses"]["200"]
    sse = ok["content"]["text/event-stream"]
    assert sse["x-concord-stream-message"] == "WatchLocksResponse"
    assert sse["x-concord-item-schema"] == {"$ref": "#/components/schemas/WatchLocksResponse"}
    assert ok["headers"]["X-Request-ID"] == {"$ref": "#/components/headers/XRequestId"}


def test_json_mapping_of_fields(doc: Doc) -> None:
    lock = doc["components"]["schemas"]["Lock"]
    props = lock["properties"]
    assert lock["required"] == ["name"]
    assert "additionalProperties" not in lock  # also a response type: stays open
    assert props["name"] == {
        "type": "string",
        "pattern": "^[a-z]+$",
        "minLength": 1,
        "maxLength": 64,
        "description": "Lock name.",
    }
    assert props["fencing_token"]["format"] == "int64" and props["fencing_token"]["readOnly"]
    assert props["expire_time"]["format"] == "date-time"
    assert props["ttl"]["pattern"] == DURATION_PATTERN
    assert props["extra"] == {"description": "Extra."}
    assert props["labels"]["additionalProperties"] == {"type": "integer", "format": "int64"}
    assert props["labels"]["maxProperties"] == 4
    assert (props["tags"]["minItems"], props["tags"]["maxItems"]) == (1, 3)
    assert (props["priority"]["minimum"], props["priority"]["maximum"]) == (1, 9)
    assert lock["x-concord-oneof"] == {"owner": ["client_id", "session_id"]}


def test_enums_are_stripped_strings(doc: Doc) -> None:
    enum = doc["components"]["schemas"]["ExpectedStreamState"]
    assert enum["type"] == "string"
    assert enum["enum"] == ["NO_STREAM", "ANY"]


def test_request_bodies_reject_unknown_fields(doc: Doc) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["AcquireLockBody"]["additionalProperties"] is False
    assert "additionalProperties" not in schemas["ListLocksResponse"]


def test_schemas_no_operation_uses_are_pruned(doc: Doc) -> None:
    schemas = doc["components"]["schemas"]
    # Sent as AcquireLockBody, as query parameters, or not at all: no schema of their own.
    for name in ("AcquireLockRequest", "ListLocksRequest", "LockFilter", "WatchLocksRequest"):
        assert name not in schemas
    roots = [doc["paths"], doc["components"]["responses"]]
    assert used_schemas(roots, schemas) == set(schemas)
    assert "WatchLocksResponse" in schemas  # an SSE message, named by x-concord-item-schema


def test_enum_values_get_prefixed_names_for_generators(doc: Doc) -> None:
    enum = doc["components"]["schemas"]["ExpectedStreamState"]
    names = ["EXPECTED_STREAM_STATE_NO_STREAM", "EXPECTED_STREAM_STATE_ANY"]
    assert enum["x-enum-varnames"] == names
    assert enum["x-enumNames"] == names
    assert enum["x-enum-descriptions"] == ["The stream must not exist.", "Anything goes."]


def test_free_form_objects_use_the_empty_schema(make_root: MakeRoot) -> None:
    builder = SchemaBuilder(build(make_root({"common.proto": COMMON}))[0])
    struct = builder.type_schema(TypeRef(TypeKind.WELL_KNOWN, "google.protobuf.Struct"))
    assert struct == {"type": "object", "additionalProperties": {}}


def test_security_schemes(doc: Doc) -> None:
    assert doc["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["bearerFormat"] == "JWT"
    assert schemes["apiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}


def test_summary_is_the_first_sentence() -> None:
    assert summary("Acquire a lock. Then more.\n\nDetails.") == "Acquire a lock."
    assert summary("One line\ncontinued") == "One line continued"
