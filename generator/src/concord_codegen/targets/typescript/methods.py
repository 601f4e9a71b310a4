"""TypeScript refiner, part 2: services as resource classes and RPCs as their methods.

A method takes the path parameters first, then a params object with the rest of the request,
then per-call options. Its body only describes the call (RPC, verb, path template, the request,
where the body goes, idempotency); the runtime core does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from concord_codegen.ir.model import Api, ErrorCode, Message, Method, Service
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.typescript.names import camel, doc_lines, literal, parameter, pascal
from concord_codegen.targets.typescript.types import LINE_WIDTH, TsInterface, TypeMapper, stem_of


@dataclass(frozen=True)
class PathArg:
    """A path parameter taken as an argument."""

    name: str  # TypeScript parameter
    json: str  # contract field
    type: str


@dataclass(frozen=True)
class Paging:
    """What auto-pagination reads: the items field and its type, the token fields."""

    items: str
    item_type: str
    token: str
    next_token: str


@dataclass
class TsMethod:
    """A method of a resource class."""

    rpc: str
    name: str
    doc: list[str]
    verb: str
    http_path: str
    path_args: list[PathArg]
    params: TsInterface | None
    params_required: bool
    response: str
    idempotent: bool
    body: str  # "*", a field name, or "" for none
    paging: Paging | None = None
    stream: bool = False

    @property
    def returns(self) -> str:
        """The return type."""
        if self.paging is not None:
            return f"PagePromise<{self.paging.item_type}, {self.response}>"
        if self.stream:
            return f"StreamPromise<{self.response}>"
        return f"APIPromise<{self.response}>"

    @property
    def arguments(self) -> list[str]:
        """The parameter declarations."""
        args = [f"{a.name}: {a.type}" for a in self.path_args]
        if self.params is not None:
            default = "" if self.params_required else " = {}"
            args.append(f"params: {self.params.name}{default}")
        args.append("options?: RequestOptions")
        return args

    @property
    def signature(self) -> str:
        """`name(args): Returns {` on one line, or one argument a line when too long."""
        line = f"  {self.name}({', '.join(self.arguments)}): {self.returns} {{"
        if len(line) <= LINE_WIDTH:
            return line
        args = "".join(f"    {a},\n" for a in self.arguments)
        return f"  {self.name}(\n{args}  ): {self.returns} {{"

    def endpoint(self, indent: str) -> str:
        """The endpoint object literal, one property a line, without a final newline."""
        props = [
            f"rpc: {literal(self.rpc)},",
            f"method: {literal(self.verb)},",
            f"path: {literal(self.http_path)},",
            f"request: {self.request_expr},",
            *([f"body: {literal(self.body)},"] if self.body else []),
            f"idempotent: {'true' if self.idempotent else 'false'},",
        ]
        inner = "".join(f"{indent}  {p}\n" for p in props)
        return f"{indent}{{\n{inner}{indent}}},"

    @property
    def request_expr(self) -> str:
        """The whole request: params, with the path arguments over them."""
        spread = ["...params"] if self.params is not None else []
        fields = [a.json if a.json == a.name else f"{a.json}: {a.name}" for a in self.path_args]
        parts = spread + fields
        return f"{{ {', '.join(parts)} }}" if parts else "{}"


@dataclass(frozen=True)
class TsService:
    """A resource: client property, class, module, methods."""

    attr: str  # the client's property, e.g. `locks`
    cls: str
    module: str
    doc: list[str]
    methods: list[TsMethod]
    custom: bool

    @property
    def type_imports(self) -> list[str]:
        """Model types the resource module uses, sorted."""
        names: set[str] = set()
        for m in self.methods:
            names.add(m.response)
            if m.params is not None:
                names.add(m.params.name)
            if m.paging is not None:
                names.add(m.paging.item_type)
        return sorted(names)

    @property
    def core_imports(self) -> dict[str, list[str]]:
        """Runtime modules and the names this resource takes from them."""
        found: dict[str, set[str]] = {"resource": {"APIResource"}}
        kinds = {"paging" if m.paging else "stream" if m.stream else "unary" for m in self.methods}
        if "unary" in kinds:
            found.setdefault("api-promise", set()).add("type APIPromise")
        found["options"] = {"type RequestOptions"}
        if "paging" in kinds:
            found.setdefault("pagination", set()).add("type PagePromise")
        if "stream" in kinds:
            found.setdefault("streaming", set()).add("type StreamPromise")
        return {
            k: sorted(v, key=lambda n: n.removeprefix("type ")) for k, v in sorted(found.items())
        }


@dataclass(frozen=True)
class TsError:
    """One catalogue code and its error class."""

    code: str
    cls: str
    http_status: int
    retryable: bool
    doc: list[str]


class MethodBuilder:
    """Builds the resources of the services."""

    def __init__(self, api: Api, types: TypeMapper) -> None:
        self.api = api
        self.types = types
        self.params: dict[str, list[TsInterface]] = {}  # model module -> params and requests

    def service(self, service: Service, custom: set[str]) -> TsService:
        """The resource of one service."""
        resource = service.sdk_resource or service.name.removesuffix("Service")
        methods = [self.method(m) for m in service.methods]
        names = [m.name for m in methods]
        if len(names) != len(set(names)):
            raise TargetError(f"{service.name}: two methods share a name: {sorted(names)}")
        module = resource.replace("_", "-")
        return TsService(
            attr=camel(resource),
            cls=f"{pascal(resource)}Resource",
            module=module,
            doc=doc_lines(service.doc or service.name),
            methods=methods,
            custom=module in custom,
        )

    def method(self, method: Method) -> TsMethod:
        """The method of one RPC."""
        http = method.http
        if http is None:
            raise TargetError(f"{method.name} has no HTTP binding")
        request = self._message(method.input)
        args = [self._path_arg(request, name, method.name) for name in http.path_params]
        params = self._params(method, request, tuple(http.path_params))
        ts = TsMethod(
            rpc=method.name,
            name=camel(method.sdk_name or method.name),
            doc=doc_lines(method.doc or method.name),
            verb=http.verb,
            http_path=http.path,
            path_args=args,
            params=params,
            params_required=params is not None and any(not f.optional for f in params.fields),
            response=self.types.name(method.output),
            idempotent=method.retry_safe,
            body=http.body or "",
        )
        ts.stream = method.server_streaming
        if method.pagination is not None:
            ts.paging = self._paging(method)
        return ts

    def _message(self, full_name: str) -> Message:
        message = self.api.message(full_name)
        if message is None:
            raise TargetError(f"unknown message {full_name}")
        return message

    def _add(self, request: Message, interface: TsInterface) -> None:
        self.params.setdefault(stem_of(request.location.file), []).append(interface)

    def _params(
        self, method: Method, request: Message, path: tuple[str, ...]
    ) -> TsInterface | None:
        """`<Rpc>Params`: the request's fields besides the path; None when there are none."""
        if not [f for f in request.fields if f.name not in path]:
            return None
        name = f"{method.name}Params"
        method_name = camel(method.sdk_name or method.name)
        doc = f"The parameters of {method_name} ({method.name}) besides the path."
        interface = self.types.interface(request, name, doc, True, skip=path)
        self._add(request, interface)
        return interface

    def _path_arg(self, request: Message, name: str, rpc: str) -> PathArg:
        found = request.get_field(name)
        if found is None or "." in name:
            raise TargetError(f"{rpc}: path parameter {name} must be a top-level request field")
        ts_type = self.types.field_type(found, True)
        if ts_type not in ("string", "number"):
            raise TargetError(f"{rpc}: path parameter {name} must be a string or a number")
        return PathArg(parameter(name), found.json_name, ts_type)

    def _paging(self, method: Method) -> Paging:
        page = method.pagination
        assert page is not None
        response = self._message(method.output)
        items = response.get_field(page.items_field)
        if items is None:
            raise TargetError(f"{method.name}: no items field {page.items_field}")
        return Paging(
            items=page.items_field,
            item_type=self.types.element(items.type, False),
            token=page.page_token_field,
            next_token=page.next_page_token_field,
        )


def errors_of(api: Api) -> list[TsError]:
    """The error classes of the catalogue."""
    return [_error(code) for code in api.errors]


def _error(code: ErrorCode) -> TsError:
    return TsError(
        code=code.code,
        cls=f"{pascal(code.code)}Error",
        http_status=code.http_status or 0,
        retryable=code.retryable,
        doc=doc_lines(code.doc or code.code),
    )


def quoted(text: str) -> str:
    """A string literal (for templates)."""
    return literal(text)
