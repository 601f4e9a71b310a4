"""C# refiner, part 2: resources (one client class per service), their methods and the errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from concord_codegen.ir.model import Api, ErrorCode, Message, Method, Service
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.csharp.names import METHOD_RENAMES, parameter, pascal, summary
from concord_codegen.targets.csharp.types import CsClass, CsField, TypeMapper

_SEGMENT = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class PathArg:
    """A path parameter taken as a method argument."""

    name: str  # C# parameter name
    json: str  # contract field name
    doc: list[str]


@dataclass(frozen=True)
class QueryArg:
    """One query-string value: its name and the C# expression read from the params."""

    name: str
    value: str


@dataclass(frozen=True)
class Paging:
    """Paging of a list method: item type, items and token properties, their JSON names."""

    item_type: str
    items: str
    items_json: str
    token: str
    next_token: str
    next_token_json: str


@dataclass
class CsMethod:
    """An SDK method (with its async twin) of a resource."""

    rpc: str
    name: str
    doc: list[str]
    verb: str
    http_path: str
    path_expr: str
    path_args: list[PathArg]
    params: CsClass | None
    params_required: bool
    response: str
    idempotent: bool
    query: list[QueryArg] = field(default_factory=list)
    body: str = ""  # C# expression of the JSON body, "" for none
    paging: Paging | None = None
    stream: str = ""  # message type of a server stream


@dataclass(frozen=True)
class CsService:
    """A resource of the client: property name, class name, methods, proto file group."""

    property: str
    type: str
    doc: list[str]
    methods: list[CsMethod]
    full_name: str


@dataclass(frozen=True)
class CsError:
    """One catalogue code: property of ErrorCode, exception type, HTTP status, retryable."""

    code: str
    name: str
    type: str
    http_status: int
    retryable: bool
    doc: list[str]


class MethodBuilder:
    """Builds the C# view of services and methods."""

    def __init__(self, api: Api, types: TypeMapper) -> None:
        self.api = api
        self.types = types

    def service(self, service: Service) -> CsService:
        """The resource client of one service."""
        prop = pascal(service.sdk_resource or service.name)
        methods = [self.method(m) for m in service.methods]
        names = [m.name for m in methods]
        if len(names) != len(set(names)):
            raise TargetError(f"{service.name}: two C# methods share a name: {sorted(names)}")
        doc = summary(service.doc, f"The calls of {service.name}.")
        return CsService(prop, f"{prop}Client", doc, methods, service.full_name)

    def method(self, method: Method) -> CsMethod:
        """The SDK method of one RPC."""
        http = method.http
        if http is None:
            raise TargetError(f"{method.name} has no HTTP binding")
        request = self._message(method.input)
        args = [self._path_arg(request, name, method.name) for name in http.path_params]
        params = self._params(method, request, tuple(http.path_params))
        sdk = method.sdk_name or method.name
        cs = CsMethod(
            rpc=method.name,
            name=METHOD_RENAMES.get(sdk, pascal(sdk)),
            doc=summary(method.doc, method.name),
            verb=http.verb,
            http_path=http.path,
            path_expr=self._path_expr(http.path, args),
            path_args=args,
            params=params,
            params_required=params is not None
            and any(f.required for f in request.fields if f.name not in http.path_params),
            response=self.types.type_name(method.output),
            idempotent=method.retry_safe,
        )
        self._transport(cs, method, request)
        return cs

    def _message(self, full_name: str) -> Message:
        message = self.api.message(full_name)
        if message is None:
            raise TargetError(f"unknown message {full_name}")
        return message

    def _params(self, method: Method, request: Message, path: tuple[str, ...]) -> CsClass | None:
        """The `<Rpc>Params` class: every request field not in the path; None when empty."""
        if not [f for f in request.fields if f.name not in path]:
            return None
        name = f"{pascal(method.name)}Params"
        doc = f"The parameters of {method.name} besides the path."
        return self.types.model(request, name, doc, group=_group(request), skip=path)

    def _path_arg(self, request: Message, name: str, rpc: str) -> PathArg:
        found = request.get_field(name)
        if found is None or "." in name:
            raise TargetError(f"{rpc}: path parameter {name} must be a top-level request field")
        if found.type.name != "string" or found.repeated or found.map is not None:
            raise TargetError(f"{rpc}: path parameter {name} must be a string")
        return PathArg(parameter(name), name, summary(found.doc, name))

    @staticmethod
    def _path_expr(path: str, args: list[PathArg]) -> str:
        """C# expression of the request path: literals joined with escaped parameters."""
        by_name = {a.json: f"ApiRequest.Escape({a.name})" for a in args}
        parts: list[str] = []
        for i, piece in enumerate(_SEGMENT.split(path)):
            if i % 2:
                parts.append(by_name[piece])
            elif piece:
                parts.append(f'"{piece}"')
        return " + ".join(parts)

    def _transport(self, cs: CsMethod, method: Method, request: Message) -> None:
        """Body, query, paging and streaming of a method."""
        http = method.http
        assert http is not None
        if cs.params is not None and http.body == "*":
            cs.body = "p"
        elif cs.params is not None and http.body:
            cs.body = f"p.{self._property(cs.params, http.body).name}"
        page = method.pagination
        for q in http.query_params:
            if page is not None and q.name == page.page_token_field:
                cs.query.append(QueryArg(q.name, "pageToken"))
                continue
            cs.query.append(QueryArg(q.name, self._query_value(request, q.name, method.name)))
        if method.server_streaming:
            cs.stream = cs.response
        if page is not None:
            response = self._message(method.output)
            items = response.get_field(page.items_field)
            assert items is not None
            item_type = self.types.element(items.type)[0]
            token = self._property(cs.params, page.page_token_field)
            cs.paging = Paging(
                item_type=item_type,
                items=pascal(page.items_field),
                items_json=page.items_field,
                token=token.name,
                next_token=pascal(page.next_page_token_field),
                next_token_json=page.next_page_token_field,
            )

    def _query_value(self, request: Message, dotted: str, rpc: str) -> str:
        """C# expression of one (possibly dotted) query parameter, read from the params `p`."""
        message, expr = request, "p"
        names = dotted.split(".")
        for i, name in enumerate(names):
            found = message.get_field(name)
            if found is None:
                raise TargetError(f"{rpc}: no field {dotted}")
            owner = "Params" if i == 0 else self.types.type_name(message.full_name)
            prop = self.types.field(found, owner, message.full_name)
            expr += ("?." if i > 0 else ".") + prop.name
            if i < len(names) - 1:
                if prop.kind != "message":
                    raise TargetError(
                        f"{rpc}: query parameter {dotted} crosses a non-message field"
                    )
                message = self._message(found.type.name)
            elif prop.kind in ("message", "json", "map", "wkt") and not prop.converter:
                raise TargetError(f"{rpc}: query parameter {dotted} must be a scalar, enum or list")
            elif prop.kind == "enum":
                expr += ".ToString()"
        return expr

    @staticmethod
    def _property(params: CsClass | None, json: str) -> CsField:
        found = next((f for f in params.fields if f.json == json), None) if params else None
        if found is None:
            raise TargetError(f"no params property for field {json}")
        return found


def _group(message: Message) -> str:
    """The proto file stem a message is declared in (`locks` for concord/v1/locks.proto)."""
    file = message.location.file or "common"
    return file.rsplit("/", 1)[-1].removesuffix(".proto")


def errors_of(api: Api) -> list[CsError]:
    """The typed exceptions of the catalogue."""
    return [_error(code) for code in api.errors]


def _error(code: ErrorCode) -> CsError:
    name = pascal(code.code)
    return CsError(
        code=code.code,
        name=name,
        type=f"{name}Exception",
        http_status=code.http_status or 0,
        retryable=code.retryable,
        doc=summary(code.doc, code.code),
    )
