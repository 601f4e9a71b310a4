"""Java refiner, part 2: resources, their methods (path, params, paging, streams) and errors."""

from __future__ import annotations

from dataclasses import dataclass

from concord_codegen import naming
from concord_codegen.ir.model import Api, ErrorCode, Message, Method, Service
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.java.names import class_name, constant, javadoc, member
from concord_codegen.targets.java.types import JavaClass, TypeMapper


@dataclass(frozen=True)
class PathArg:
    """A path parameter taken as a method argument."""

    name: str  # Java parameter
    json: str  # contract field name


@dataclass(frozen=True)
class Paging:
    """Paging of a list method: the item type, and the page's items and token accessors."""

    item_type: str
    items: str
    next_token: str
    token_setter: str


@dataclass(frozen=True)
class JavaMethod:
    """An SDK method of a resource."""

    rpc: str
    name: str
    const: str  # the Operation constant
    doc: list[str]
    verb: str
    http_path: str
    path_args: list[PathArg]
    params: JavaClass | None
    params_optional: bool  # true when the params may be left out (no required field)
    response: str
    idempotent: bool
    body: str  # "*", a field name, or "" for no body
    query: list[str]
    paging: Paging | None
    stream: bool


@dataclass(frozen=True)
class JavaService:
    """A resource: accessor, classes, methods, the contract's service."""

    accessor: str
    type: str
    async_type: str
    doc: list[str]
    methods: list[JavaMethod]
    full_name: str
    custom: bool = False


@dataclass(frozen=True)
class JavaError:
    """One catalogue code: constant, exception class, HTTP status, retryable."""

    code: str
    const: str
    type: str
    http_status: int
    retryable: bool
    doc: list[str]


class MethodBuilder:
    """Builds the Java view of services and methods."""

    def __init__(self, api: Api, types: TypeMapper) -> None:
        self.api = api
        self.types = types

    def service(self, service: Service, custom: set[str]) -> JavaService:
        """The resource of one service."""
        base = class_name(service.sdk_resource or service.name)
        methods = [self.method(m) for m in service.methods]
        names = [m.name for m in methods]
        if len(names) != len(set(names)):
            raise TargetError(f"{service.name}: two Java methods share a name: {sorted(names)}")
        return JavaService(
            accessor=member(service.sdk_resource or service.name),
            type=f"{base}Resource",
            async_type=f"{base}AsyncResource",
            doc=javadoc(service.doc, service.name),
            methods=methods,
            full_name=service.full_name,
            custom=f"{base}Resource" in custom,
        )

    def method(self, method: Method) -> JavaMethod:
        """The SDK method of one RPC."""
        http = method.http
        if http is None:
            raise TargetError(f"{method.name} has no HTTP binding")
        request = self._message(method.input)
        args = [self._path_arg(request, name, method.name) for name in http.path_params]
        params = self._params(method, request, tuple(http.path_params))
        return JavaMethod(
            rpc=method.name,
            name=member(method.sdk_name or method.name),
            const=naming.screaming(method.name),
            doc=javadoc(method.doc, method.name),
            verb=http.verb,
            http_path=http.path,
            path_args=args,
            params=params,
            params_optional=params is None or not any(f.required for f in params.fields),
            response=self.types.type_name(method.output),
            idempotent=method.retry_safe,
            body=http.body or "",
            query=[q.name for q in http.query_params],
            paging=self._paging(method),
            stream=method.server_streaming,
        )

    def _message(self, full_name: str) -> Message:
        message = self.api.message(full_name)
        if message is None:
            raise TargetError(f"unknown message {full_name}")
        return message

    def _params(self, method: Method, request: Message, path: tuple[str, ...]) -> JavaClass | None:
        """The `<Rpc>Params` class: every request field not in the path; None when empty."""
        if not [f for f in request.fields if f.name not in path]:
            return None
        name = f"{class_name(method.name)}Params"
        doc = f"The parameters of {member(method.sdk_name or method.name)} ({method.name})"
        doc += " besides the path." if path else "."
        return self.types.model(request, name, doc, skip=path)

    def _path_arg(self, request: Message, name: str, rpc: str) -> PathArg:
        found = request.get_field(name)
        if found is None or "." in name:
            raise TargetError(f"{rpc}: path parameter {name} must be a top-level request field")
        if found.type.name != "string" or found.repeated:
            raise TargetError(f"{rpc}: path parameter {name} must be a string")
        return PathArg(member(name), name)

    def _paging(self, method: Method) -> Paging | None:
        page = method.pagination
        if page is None:
            return None
        response = self._message(method.output)
        items = response.get_field(page.items_field)
        assert items is not None
        return Paging(
            item_type=self.types.element(items.type)[0],
            items=member(page.items_field),
            next_token=member(page.next_page_token_field),
            token_setter=member(page.page_token_field),
        )


def errors_of(api: Api) -> list[JavaError]:
    """The typed exceptions of the catalogue."""
    return [_error(code) for code in api.errors]


def _error(code: ErrorCode) -> JavaError:
    return JavaError(
        code=code.code,
        const=constant(code.code),
        type=f"{class_name(code.code.lower())}Exception",
        http_status=code.http_status or 0,
        retryable=code.retryable,
        doc=javadoc(code.doc, code.code),
    )
