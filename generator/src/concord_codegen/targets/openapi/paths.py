"""paths: one operation per RPC, with parameters, body, responses and Concord extensions."""

from __future__ import annotations

from typing import Any

from concord_codegen.ir.model import Api, Field, HttpBinding, Message, Method, Service
from concord_codegen.naming import camel
from concord_codegen.targets.openapi.errors import error_responses
from concord_codegen.targets.openapi.schemas import Schema, SchemaBuilder, ref

VERB_ORDER = ("get", "put", "post", "delete", "patch")
HEADER_REF = "#/components/headers/"
PARAMETER_REF = "#/components/parameters/"


def body_schema_name(method: Method) -> str:
    """Name of the request body's schema: the request without its path parameters."""
    return f"{method.name}Body"


def needs_body_schema(method: Method) -> bool:
    """True when the body is the request's fields (`*`): it gets its own `<Rpc>Body` schema.

    Also without path parameters: a `<Rpc>Request` schema would collide with the per-operation
    parameter types that generators name the same way (typescript-fetch's `AcquireLockRequest`).
    """
    return method.http is not None and method.http.body == "*"


def summary(doc: str) -> str:
    """The first sentence of the first paragraph of a comment."""
    first = " ".join(doc.split("\n\n", 1)[0].split())
    head, dot, _ = first.partition(". ")
    return head + "." if dot else first


class PathBuilder:
    """Builds the `paths` object of the document."""

    def __init__(self, api: Api, schemas: SchemaBuilder) -> None:
        self.api = api
        self.schemas = schemas

    def paths(self) -> dict[str, Any]:
        """Every bound RPC, by path (sorted) and verb (in a fixed order)."""
        found: dict[str, dict[str, Any]] = {}
        for service in self.api.services:
            for method in service.methods:
                if method.http is not None:
                    verb = method.http.verb.lower()
                    found.setdefault(method.http.path, {})[verb] = self.operation(service, method)
        return {
            path: {v: ops[v] for v in sorted(ops, key=_verb_rank)}
            for path, ops in sorted(found.items())
        }

    def operation(self, service: Service, method: Method) -> dict[str, Any]:
        """The operation object of one RPC."""
        http = _binding(method)
        request = self._message(method.input)
        op: dict[str, Any] = {"operationId": camel(method.name), "tags": [service.name]}
        if method.doc:
            op["summary"] = summary(method.doc)
            op["description"] = method.doc
        parameters = self._parameters(method, http, request)
        if parameters:
            op["parameters"] = parameters
        body = self._request_body(method, http, request)
        if body:
            op["requestBody"] = body
        op["responses"] = {
            "200": self._success(method, http),
            **error_responses(self.api, public=method.is_public),
        }
        if method.is_public:
            op["security"] = []
        op.update(self._extensions(service, method))
        return op

    def _message(self, full_name: str) -> Message:
        message = self.api.message(full_name)
        if message is None:
            raise LookupError(f"unknown message {full_name}")
        return message

    def _parameters(self, method: Method, http: HttpBinding, request: Message) -> list[Schema]:
        """Path params (template order), query params (field order), Idempotency-Key."""
        found = [self._path_param(name, request) for name in http.path_params]
        found += [self._query_param(q.name, q.field) for q in http.query_params]
        if http.verb != "GET" and not method.retry_safe:
            found.append({"$ref": PARAMETER_REF + "IdempotencyKey"})
        return found

    def _path_param(self, name: str, request: Message) -> Schema:
        field = _resolve(self.api, request, name)
        param: Schema = {"name": name, "in": "path", "required": True}
        if field.doc:
            param["description"] = field.doc
        param["schema"] = self.schemas.field_schema(field, with_doc=False)
        return param

    def _query_param(self, name: str, field: Field) -> Schema:
        param: Schema = {"name": name, "in": "query"}
        if field.required:
            param["required"] = True
        if field.doc:
            param["description"] = field.doc
        param["schema"] = self.schemas.field_schema(field, with_doc=False)
        return param

    def _request_body(self, method: Method, http: HttpBinding, request: Message) -> Schema | None:
        """`*` sends every non-path field; a field name sends that field; none sends nothing."""
        if http.body is None:
            return None
        if http.body == "*":
            schema = ref(body_schema_name(method))
            description = "Every request field except the path parameters."
        else:
            schema = self.schemas.field_schema(_field(request, http.body), with_doc=False)
            description = f"The request's `{http.body}` field."
        return {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }

    def _success(self, method: Method, http: HttpBinding) -> Schema:
        """200: the response message as JSON, or as Server-Sent Events for server streams."""
        response = self._message(method.output)
        schema = (
            self.schemas.field_schema(_field(response, http.response_body), with_doc=False)
            if http.response_body
            else ref(self.api.schema_name(response.full_name))
        )
        result: Schema = {
            "description": response.doc or "OK",
            "headers": {"X-Request-ID": {"$ref": HEADER_REF + "XRequestId"}},
        }
        if method.server_streaming:
            result["content"] = {
                "text/event-stream": _sse(self.api.schema_name(response.full_name))
            }
        else:
            result["content"] = {"application/json": {"schema": schema}}
        return result

    def _extensions(self, service: Service, method: Method) -> dict[str, Any]:
        """x-concord-* facts SDK generators need: RPC name, auth, idempotency, paging, streams."""
        ext: dict[str, Any] = {
            "x-concord-rpc": f"{service.full_name}/{method.name}",
            "x-concord-idempotency": method.idempotency.value,
        }
        if method.auth is not None and not method.auth.public:
            ext["x-concord-auth"] = {"action": method.auth.action, "resource": method.auth.resource}
        if method.pagination is not None:
            p = method.pagination
            ext["x-concord-pagination"] = {
                "page_size": p.page_size_field,
                "page_token": p.page_token_field,
                "next_page_token": p.next_page_token_field,
                "items": p.items_field,
            }
        if method.server_streaming:
            ext["x-concord-streaming"] = "server"
        return ext


def _sse(message_schema: str) -> Schema:
    """The media type of a Server-Sent Events stream of `message_schema` JSON messages."""
    return {
        "schema": {
            "type": "string",
            "description": (
                f"Server-Sent Events: each `data:` line is one JSON `{message_schema}`."
            ),
        },
        "x-concord-stream-message": message_schema,
        "x-concord-item-schema": ref(message_schema),
    }


def _binding(method: Method) -> HttpBinding:
    if method.http is None:
        raise LookupError(f"RPC {method.name} has no HTTP binding")
    return method.http


def _field(message: Message, name: str) -> Field:
    field = message.get_field(name)
    if field is None:
        raise LookupError(f"{message.name} has no field {name}")
    return field


def _resolve(api: Api, message: Message, dotted: str) -> Field:
    """The field a dotted path parameter names."""
    head, _, rest = dotted.partition(".")
    field = _field(message, head)
    if not rest:
        return field
    nested = api.message(field.type.name)
    if nested is None:
        raise LookupError(f"{dotted} does not resolve in {message.name}")
    return _resolve(api, nested, rest)


def _verb_rank(verb: str) -> int:
    return VERB_ORDER.index(verb) if verb in VERB_ORDER else len(VERB_ORDER)
