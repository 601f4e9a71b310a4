"""Python refiner, part 2: the IR as the view the Python SDK templates render."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from concord_codegen import naming
from concord_codegen.ir.model import Api, Enum, ErrorCode, Message, Method, Service
from concord_codegen.targets.base import TargetError
from concord_codegen.targets.python.sdk_types import PyField, py_field, py_name

# Per-call options every method takes; request fields of the same name get a `_`.
CALL_OPTIONS = frozenset({"extra_headers", "timeout", "idempotency_key", "self"})
PARAM_ONLY = frozenset({"Sequence", "Mapping"})  # parameter types; models use list/dict
CORE_SYMBOLS = {
    "opt": "concord._core.jsonmap",
    "decode_bytes": "concord._core.jsonmap",
    "encode_bytes": "concord._core.jsonmap",
    "decode_timestamp": "concord._core.jsonmap",
    "encode_timestamp": "concord._core.jsonmap",
    "decode_duration": "concord._core.jsonmap",
    "encode_duration": "concord._core.jsonmap",
    "value_in": "concord._core.jsonmap",
    "value_out": "concord._core.jsonmap",
    "datetime": "datetime",
    "timedelta": "datetime",
    "Any": "typing",
    "Sequence": "collections.abc",
    "Mapping": "collections.abc",
}


@dataclass(frozen=True)
class PyEnumValue:
    """An enum member: Python name, wire value, doc."""

    name: str
    wire: str
    doc: str


@dataclass(frozen=True)
class PyEnum:
    """A string enum."""

    name: str
    doc: str
    values: tuple[PyEnumValue, ...]


@dataclass(frozen=True)
class PyMessage:
    """A model class."""

    name: str
    doc: str
    fields: tuple[PyField, ...]


@dataclass
class Imports:
    """`from module import name` lines, grouped and sorted for the templates."""

    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, module: str, name: str) -> None:
        """Import `name` from `module`."""
        self.names[module].add(name)

    def lines(self, group: str) -> list[str]:
        """Import lines of one group: `stdlib` or `local` (the concord package)."""
        local = group == "local"
        return [
            f"from {module} import {', '.join(sorted(names, key=_import_key))}"
            for module, names in sorted(self.names.items())
            if module.startswith("concord") == local
        ]


@dataclass(frozen=True)
class ModelModule:
    """One `concord/models/<file>.py`: the enums and messages of one proto file."""

    stem: str
    enums: tuple[PyEnum, ...]
    messages: tuple[PyMessage, ...]
    imports: Imports

    @property
    def exports(self) -> list[str]:
        """Every class the module defines."""
        return [e.name for e in self.enums] + [m.name for m in self.messages]


@dataclass(frozen=True)
class PyParam:
    """A method parameter that fills a request field."""

    name: str
    annotation: str
    default: str | None
    field: str  # the model attribute it fills
    to_model: str


@dataclass(frozen=True)
class PyMethod:
    """A resource method: its signature, request/response classes and REST binding."""

    name: str
    rpc: str
    doc: str
    kind: str  # unary | paged | stream
    endpoint: str
    endpoint_args: tuple[tuple[str, str], ...]
    request: str
    response: str
    positional: tuple[PyParam, ...]
    keyword: tuple[PyParam, ...]
    retry_safe: bool
    item: str = ""
    items_field: str = ""
    next_token_field: str = ""
    page_token: str = ""

    @property
    def params(self) -> tuple[PyParam, ...]:
        """All request parameters, positional first."""
        return self.positional + self.keyword


@dataclass(frozen=True)
class PyService:
    """A resource (`client.locks`) and its methods."""

    attr: str
    module: str
    cls: str
    doc: str
    methods: tuple[PyMethod, ...]
    imports: Imports
    custom: bool = False
    service_name: str = ""

    @property
    def async_cls(self) -> str:
        """Name of the asyncio variant."""
        return "Async" + self.cls

    @property
    def unary(self) -> tuple[PyMethod, ...]:
        """Methods that answer once (offered by `with_raw_response`)."""
        return tuple(m for m in self.methods if m.kind == "unary")


@dataclass(frozen=True)
class PyError:
    """A typed exception per catalogue code."""

    cls: str
    code: str
    status: int
    doc: str
    retryable: bool


def _import_key(name: str) -> tuple[bool, str]:
    """isort order: CONSTANTS, Classes, functions (ruff's default `order-by-type`)."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return (kind != 0, f"{kind}{name}")


def enum_view(api: Api, enum: Enum) -> PyEnum:
    """The view of an enum (UNSPECIFIED left out)."""
    values = tuple(PyEnumValue(py_name(v.wire_name), v.wire_name, v.doc) for v in enum.wire_values)
    return PyEnum(api.schema_name(enum.full_name), enum.doc, values)


def message_view(api: Api, message: Message) -> PyMessage:
    """The view of a message (its nested types are flattened into separate views)."""
    fields = tuple(py_field(api, f) for f in message.fields)
    return PyMessage(api.schema_name(message.full_name), message.doc, fields)


def model_modules(api: Api) -> list[ModelModule]:
    """One model module per proto file that declares messages or enums, in file order."""
    by_file: dict[str, tuple[list[PyEnum], list[PyMessage]]] = defaultdict(lambda: ([], []))
    home: dict[str, str] = {}
    for enum in api.enums_by_name.values():
        stem = _stem(enum.location.file)
        by_file[stem][0].append(enum_view(api, enum))
        home[api.schema_name(enum.full_name)] = stem
    for message in api.messages_by_name.values():
        stem = _stem(message.location.file)
        by_file[stem][1].append(message_view(api, message))
        home[api.schema_name(message.full_name)] = stem
    modules = []
    for stem, (enums, messages) in sorted(by_file.items()):
        imports = Imports()
        for symbol in {s for m in messages for f in m.fields for s in f.requires}:
            if symbol not in PARAM_ONLY:
                _import(imports, symbol, home, stem)
        if messages:
            imports.add("typing", "Any")
        modules.append(ModelModule(stem, tuple(enums), tuple(messages), imports))
    return modules


def _import(imports: Imports, symbol: str, home: dict[str, str], stem: str) -> None:
    if symbol in CORE_SYMBOLS:
        imports.add(CORE_SYMBOLS[symbol], symbol)
    elif home.get(symbol, stem) != stem:
        imports.add(f"concord.models.{home[symbol]}", symbol)


def _stem(path: str) -> str:
    stem = PurePosixPath(path).stem
    if not stem:
        raise TargetError("python_sdk: a type has no source file")
    return py_name(stem)


def service_view(api: Api, service: Service, custom: set[str]) -> PyService:
    """The view of a service as a resource."""
    attr = service.sdk_resource or naming.snake(service.name.removesuffix("Service"))
    imports = Imports()
    methods = tuple(method_view(api, m, imports, service.full_name) for m in service.methods)
    cls = naming.pascal(attr) + "Resource"
    module = py_name(attr)
    return PyService(attr, module, cls, service.doc, methods, imports, attr in custom, service.name)


def method_view(api: Api, method: Method, imports: Imports, service: str = "") -> PyMethod:
    """The view of one RPC of `service` (its full name) as a method; adds what its signature
    needs to `imports`."""
    if method.client_streaming:
        raise TargetError(f"python_sdk: {method.name}: client streaming is not supported")
    request, response = api.message(method.input), api.message(method.output)
    if request is None or response is None or method.http is None:
        raise TargetError(f"python_sdk: {method.name} lacks a request, response or HTTP binding")
    reserved = CALL_OPTIONS | {"request"}
    fields = {f.name: py_field(api, f) for f in request.fields}
    names = {f.name: py_name(f.name, reserved) for f in request.fields}
    top_path = list(dict.fromkeys(p.split(".", 1)[0] for p in method.http.path_params))
    positional_names = top_path + [
        f.name for f in request.fields if fields[f.name].required and f.name not in top_path
    ]
    params = {n: _param(fields[n], names[n]) for n in fields}
    for f in fields.values():
        for symbol in f.requires:
            if symbol in CORE_SYMBOLS and not CORE_SYMBOLS[symbol].startswith("concord"):
                imports.add(CORE_SYMBOLS[symbol], symbol)
            elif symbol[:1].isupper() and symbol not in CORE_SYMBOLS:
                imports.add("concord.models", symbol)
    request_name, response_name = (
        api.schema_name(request.full_name),
        api.schema_name(response.full_name),
    )
    imports.add("concord.models", request_name)
    imports.add("concord.models", response_name)
    view = PyMethod(
        name=py_name(method.sdk_name or naming.snake(method.name), frozenset()),
        rpc=method.name,
        doc=method.doc,
        kind="stream" if method.server_streaming else "paged" if method.pagination else "unary",
        endpoint="_" + naming.screaming(method.name),
        endpoint_args=_endpoint_args(method, service),
        request=request_name,
        response=response_name,
        positional=tuple(params[n] for n in positional_names),
        keyword=tuple(params[f.name] for f in request.fields if f.name not in positional_names),
        retry_safe=method.retry_safe,
    )
    return _with_pagination(api, method, response, view, imports)


def _param(f: PyField, name: str) -> PyParam:
    default = f.param_default if not f.required else None
    return PyParam(name, f.param_annotation, default, f.name, f.to_model.format(name))


def _with_pagination(
    api: Api, method: Method, response: Message, view: PyMethod, imports: Imports
) -> PyMethod:
    page = method.pagination
    if page is None or method.server_streaming:
        return view
    items = response.get_field(page.items_field)
    assert items is not None
    item = py_field(api, items).annotation.removeprefix("list[").removesuffix("]")
    if item[:1].isupper() and item != "Any":
        imports.add("concord.models", item)
    return replace(
        view,
        item=item,
        items_field=py_name(page.items_field),
        next_token_field=py_name(page.next_page_token_field),
        page_token=py_name(page.page_token_field, CALL_OPTIONS | {"request"}),
    )


def _endpoint_args(method: Method, service: str) -> tuple[tuple[str, str], ...]:
    """Keyword arguments of the `Endpoint(...)` constant, as Python literals."""
    http = method.http
    assert http is not None
    presence = sorted(
        q.name for q in http.query_params if q.field.optional or q.field.oneof is not None
    )
    return (
        ("rpc", repr(method.name)),
        ("verb", repr(http.verb.upper())),
        ("path", repr(http.path)),
        ("path_params", _tuple(http.path_params)),
        ("body", repr(http.body)),
        ("query", _tuple(q.name for q in http.query_params)),
        ("presence", f"frozenset({_tuple(presence)})" if presence else "frozenset()"),
        ("retry_safe", repr(method.retry_safe)),
        ("public", repr(method.is_public)),
        ("service", repr(service)),
    )


def _tuple(items: Iterable[str]) -> str:
    values = [repr(i) for i in items]
    if not values:
        return "()"
    return "(" + ", ".join(values) + ("," if len(values) == 1 else "") + ")"


def error_views(api: Api) -> list[PyError]:
    """The typed exceptions of the catalogue, in catalogue order."""
    return [_error(e) for e in api.errors if e.http_status is not None]


def _error(error: ErrorCode) -> PyError:
    assert error.http_status is not None
    return PyError(
        naming.pascal(error.code) + "Error",
        error.code,
        error.http_status,
        error.doc,
        error.retryable,
    )


def unique_statuses(errors: list[PyError]) -> dict[int, str]:
    """HTTP statuses that only one catalogue code uses, with that code's exception class."""
    by_status: dict[int, list[str]] = defaultdict(list)
    for error in errors:
        by_status[error.status].append(error.cls)
    return {
        status: classes[0] for status, classes in sorted(by_status.items()) if len(classes) == 1
    }
