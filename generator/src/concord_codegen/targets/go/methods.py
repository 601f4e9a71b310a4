"""Go refiner, part 2: services, their methods (path, query, body, paging, streams) and errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from concord_codegen.ir.model import Api, ErrorCode, Message, Method, Service
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.go.names import comment, exported, godoc, parameter
from concord_codegen.targets.go.types import GoField, GoStruct, TypeMapper

_SEGMENT = re.compile(r"\{([^}]+)\}")
# The runtime helper that adds one query value, by the field's shape and scalar kind.
_QUERY_HELPERS = {"time": "addQueryTime", "duration": "addQueryDuration", "bytes": "addQueryBytes"}


@dataclass(frozen=True)
class PathArg:
    """A path parameter taken as a function argument."""

    name: str  # Go parameter name
    json: str  # contract field name
    type: str  # Go type
    escape: str  # Go expression of the escaped path segment


@dataclass(frozen=True)
class QueryParam:
    """One query-string value: the runtime helper, the value expression, and nil guards."""

    name: str
    helper: str
    value: str
    guards: list[str]


@dataclass(frozen=True)
class Paging:
    """Paging of a list method: the items field and its element type, the token field."""

    items: str
    item_type: str
    token: str
    next_token: str
    page_method: str


@dataclass
class GoMethod:
    """An SDK method of a resource."""

    rpc: str
    name: str
    doc: list[str]
    verb: str
    http_path: str
    path_expr: str
    path_args: list[PathArg]
    params: GoStruct | None
    response: str
    idempotent: bool
    query: list[QueryParam] = field(default_factory=list)
    body: str = ""  # Go expression of the JSON body, "" for none
    paging: Paging | None = None
    stream: str = ""  # Go type of a server stream's messages
    godoc: list[str] = field(default_factory=list)  # the doc led by the method's name


@dataclass(frozen=True)
class GoService:
    """A resource of the client: field name, Go type, methods."""

    field: str
    type: str
    doc: list[str]
    methods: list[GoMethod]
    full_name: str = ""  # the contract's service, e.g. concord.v1.LockService


@dataclass(frozen=True)
class GoError:
    """One catalogue code: constant, typed error, HTTP status, retryable."""

    code: str
    const: str
    type: str
    http_status: int
    retryable: bool
    doc: list[str]


class MethodBuilder:
    """Builds the Go view of services and methods."""

    def __init__(self, api: Api, types: TypeMapper) -> None:
        self.api = api
        self.types = types

    def service(self, service: Service) -> GoService:
        """The resource of one service."""
        type_name = exported(service.name)
        methods = [self.method(m) for m in service.methods]
        names = [m.name for m in methods] + [m.paging.page_method for m in methods if m.paging]
        if len(names) != len(set(names)):
            raise TargetError(f"{service.name}: two Go methods share a name: {sorted(names)}")
        doc = godoc(type_name, service.doc, service=True)
        return GoService(exported(service.sdk_resource), type_name, doc, methods, service.full_name)

    def method(self, method: Method) -> GoMethod:
        """The SDK method of one RPC."""
        http = method.http
        request = self._message(method.input)
        if http is None:
            raise TargetError(f"{method.name} has no HTTP binding")
        args = [self._path_arg(request, name, method.name) for name in http.path_params]
        params = self._params(method, request, tuple(http.path_params))
        name = exported(method.sdk_name or method.name)
        go = GoMethod(
            rpc=method.name,
            name=name,
            doc=comment(method.doc or method.name),
            godoc=godoc(name, method.doc),
            verb=http.verb,
            http_path=http.path,
            path_expr=self._path_expr(http.path, args),
            path_args=args,
            params=params,
            response=self.types.type_name(method.output),
            idempotent=method.retry_safe,
        )
        self._transport(go, method, request)
        return go

    def _message(self, full_name: str) -> Message:
        message = self.api.message(full_name)
        if message is None:
            raise TargetError(f"unknown message {full_name}")
        return message

    def _params(self, method: Method, request: Message, path: tuple[str, ...]) -> GoStruct | None:
        """The `<Rpc>Params` struct: every request field not in the path; None when empty."""
        if not [f for f in request.fields if f.name not in path]:
            return None
        name = f"{exported(method.name)}Params"
        doc = (
            f"holds the parameters of {exported(method.sdk_name)} ({method.name}) besides the path."
        )
        return self.types.struct(request, name, doc, skip=path, sent=True)

    def _path_arg(self, request: Message, name: str, rpc: str) -> PathArg:
        found = request.get_field(name)
        if found is None or "." in name:
            raise TargetError(f"{rpc}: path parameter {name} must be a top-level request field")
        go_field = self.types.field(found, request.full_name)
        arg = parameter(name)
        if go_field.type == "string":
            return PathArg(arg, name, "string", f"url.PathEscape({arg})")
        if go_field.kind != "value" or go_field.scalar in ("json", "time", "duration", "bytes"):
            raise TargetError(f"{rpc}: path parameter {name} must be a scalar")
        return PathArg(arg, name, go_field.type, f"url.PathEscape(fmt.Sprint({arg}))")

    @staticmethod
    def _path_expr(path: str, args: list[PathArg]) -> str:
        """Go expression of the request path: literals joined with escaped parameters."""
        by_name = {a.json: a.escape for a in args}
        parts: list[str] = []
        for i, piece in enumerate(_SEGMENT.split(path)):
            if i % 2:
                parts.append(by_name[piece])
            elif piece:
                parts.append(f'"{piece}"')
        return " + ".join(parts)

    def _transport(self, go: GoMethod, method: Method, request: Message) -> None:
        """Body, query, paging and streaming of a method."""
        http = method.http
        assert http is not None
        if http.body == "*":
            go.body = "params"
        elif http.body:
            go.body = f"params.{exported(http.body)}"
        go.query = [self._query(request, q.name) for q in http.query_params]
        if method.server_streaming:
            go.stream = go.response
        if method.pagination is not None:
            page = method.pagination
            response = self._message(method.output)
            items = response.get_field(page.items_field)
            assert items is not None
            go.paging = Paging(
                items=exported(page.items_field),
                item_type=self.types.element(items.type)[0],
                token=exported(page.page_token_field),
                next_token=exported(page.next_page_token_field),
                page_method=f"{go.name}Page",
            )

    def _query(self, request: Message, dotted: str) -> QueryParam:
        """How one (possibly dotted) query parameter is read from the params struct."""
        message, path, guards = request, "params", []
        names = dotted.split(".")
        for name in names[:-1]:
            parent = message.get_field(name)
            if parent is None:
                raise TargetError(f"{request.full_name}: no field {name}")
            path += f".{exported(name)}"
            guards.append(f"{path} != nil")
            message = self._message(parent.type.name)
        leaf = message.get_field(names[-1])
        if leaf is None:
            raise TargetError(f"{request.full_name}: no field {dotted}")
        go_field = self.types.field(leaf, message.full_name)
        value = f"{path}.{go_field.name}"
        return QueryParam(dotted, _query_helper(go_field), value, guards)


def _query_helper(go_field: GoField) -> str:
    """The runtime function that adds `go_field`'s value(s) to the query string."""
    if go_field.kind == "list":
        return "addQueryList"
    if go_field.kind == "pointer":
        return "addQueryPtr"
    if go_field.kind in ("map", "message") or go_field.scalar == "json":
        raise TargetError(f"query parameter {go_field.json} must be a scalar, enum or list")
    return _QUERY_HELPERS.get(go_field.scalar, "addQuery")


def errors_of(api: Api) -> list[GoError]:
    """The typed errors of the catalogue."""
    return [_error(code) for code in api.errors]


def _error(code: ErrorCode) -> GoError:
    name = exported(code.code)
    doc = comment(code.doc or code.code)
    return GoError(
        code=code.code,
        const=f"Code{name}",
        type=f"{name}Error",
        http_status=code.http_status or 0,
        retryable=code.retryable,
        doc=doc,
    )
