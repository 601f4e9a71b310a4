"""Check services and RPCs: bindings, path/body fields, streaming, pagination and auth."""

from __future__ import annotations

import re

from concord_codegen.diagnostics import Diagnostics
from concord_codegen.ir import pagination
from concord_codegen.ir.http import path_variables
from concord_codegen.ir.model import (
    Api,
    Field,
    HttpBinding,
    Idempotency,
    Message,
    Method,
    Service,
    TypeKind,
)
from concord_codegen.naming import camel

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def check_services(api: Api, found: Diagnostics) -> None:
    """Every service and RPC, plus uniqueness of routes and operation ids."""
    routes: dict[str, str] = {}
    operation_ids: dict[str, str] = {}
    for service in api.services:
        if not service.doc:
            found.warning(service.location, f"service {service.name} is undocumented")
        _check_sdk_names(service, found)
        for method in service.methods:
            _check_method(api, method, found)
            _unique(operation_ids, camel(method.name), method, "operationId", found)
            if method.http is not None:
                route = f"{method.http.verb} {method.http.path}"
                _unique(routes, route, method, "route", found)


def _check_sdk_names(service: Service, found: Diagnostics) -> None:
    """SDK names are set, snake_case, and unique within the service."""
    if not _SNAKE.match(service.sdk_resource):
        found.warning(
            service.location, f"service {service.name} needs (concord.v1.sdk_service).resource"
        )
    seen: dict[str, str] = {}
    for method in service.methods:
        if not _SNAKE.match(method.sdk_name):
            found.warning(method.location, f"RPC {method.name} needs a snake_case (concord.v1.sdk)")
        elif method.sdk_name in seen:
            found.error(
                method.location,
                f"SDK name '{method.sdk_name}' of {method.name} is also used by "
                f"{seen[method.sdk_name]}",
            )
        seen[method.sdk_name] = method.name


def _unique(seen: dict[str, str], key: str, method: Method, what: str, found: Diagnostics) -> None:
    """Record `key` for `method`, reporting a clash with an earlier RPC."""
    if key in seen:
        found.error(method.location, f"{what} '{key}' of {method.name} is also used by {seen[key]}")
    seen[key] = method.name


def _check_method(api: Api, method: Method, found: Diagnostics) -> None:
    """One RPC against the contract's rules."""
    if not method.doc:
        found.warning(method.location, f"RPC {method.name} is undocumented")
    request, response = api.message(method.input), api.message(method.output)
    if request is None or response is None:
        found.error(
            method.location, f"RPC {method.name}: request and response must be contract messages"
        )
        return
    _check_names(method, found)
    _check_streaming(method, found)
    _check_auth(api, method, request, found)
    for problem in pagination.problems(request, response):
        found.error(method.location, f"RPC {method.name} looks paginated but {problem}")
    if method.http is None:
        found.error(method.location, f"RPC {method.name} has no google.api.http binding")
        return
    _check_binding(api, method, method.http, (request, response), found)


def _check_names(method: Method, found: Diagnostics) -> None:
    """`Foo` takes `FooRequest` and returns `FooResponse`."""
    for full_name, suffix in ((method.input, "Request"), (method.output, "Response")):
        if full_name.rsplit(".", 1)[-1] != method.name + suffix:
            found.warning(method.location, f"RPC {method.name} should use {method.name}{suffix}")


def _check_streaming(method: Method, found: Diagnostics) -> None:
    """Only server streaming maps to REST (SSE over GET)."""
    if method.client_streaming:
        found.error(method.location, f"RPC {method.name}: client streaming has no REST mapping")
    if method.server_streaming and method.http is not None and method.http.verb != "GET":
        found.error(method.location, f"RPC {method.name}: server streaming must bind to GET (SSE)")


def _check_auth(api: Api, method: Method, request: Message, found: Diagnostics) -> None:
    """Non-public RPCs name an RBAC action; resource placeholders are request fields."""
    if method.auth is None:
        found.warning(method.location, f"RPC {method.name} has no (concord.v1.auth)")
        return
    if not method.auth.public and not method.auth.action:
        found.warning(method.location, f"RPC {method.name}: (concord.v1.auth) has no action")
    for name in _PLACEHOLDER.findall(method.auth.resource):
        if _resolve(api, request, name) is None:
            found.error(
                method.location, f"RPC {method.name}: auth resource uses unknown field '{name}'"
            )


def _check_binding(
    api: Api,
    method: Method,
    http: HttpBinding,
    messages: tuple[Message, Message],
    found: Diagnostics,
) -> None:
    """Path template, path params, body and response body of a binding."""
    request, response = messages
    where = f"RPC {method.name}"
    if not http.verb or not http.path.startswith("/v1/"):
        found.warning(method.location, f"{where}: path '{http.path}' should start with /v1/")
    for name, segment in path_variables(http.template):
        field = _resolve(api, request, name)
        if field is None or field.type.kind not in (TypeKind.SCALAR, TypeKind.ENUM):
            found.error(method.location, f"{where}: path parameter '{name}' is not a scalar field")
        elif segment != "*":
            found.warning(method.location, f"{where}: path parameter '{name}' spans segments")
    if http.body not in (None, "*") and request.get_field(http.body) is None:
        found.error(method.location, f"{where}: body '{http.body}' is not a request field")
    if http.body is not None and http.verb == "GET":
        found.error(method.location, f"{where}: a GET binding cannot have a body")
    if http.response_body and response.get_field(http.response_body) is None:
        found.error(method.location, f"{where}: response_body '{http.response_body}' is unknown")
    if http.verb == "GET" and method.idempotency is Idempotency.UNKNOWN:
        found.warning(method.location, f"{where}: GET binding without NO_SIDE_EFFECTS")


def _resolve(api: Api, request: Message, dotted: str) -> Field | None:
    """The singular field that `dotted` (e.g. `lock.name`) names in the request, or None."""
    message: Message | None = request
    field: Field | None = None
    for part in dotted.split("."):
        field = message.get_field(part) if message is not None else None
        if field is None or field.repeated or field.map is not None:
            return None
        message = api.message(field.type.name) if field.type.kind is TypeKind.MESSAGE else None
    return field
