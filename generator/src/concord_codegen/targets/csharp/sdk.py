"""C# SDK target: `sdks/csharp` (NuGet package `Concord`, namespace `Concord`).

Templates (`templates/csharp/*.j2`) map the IR; the runtime core (`runtime/csharp/*.cs`: pipeline,
retries, errors, JSON, paging, SSE streams) is copied as is into `src/Core/`. Models are written per
proto file (`src/Models/<File>Models.cs`) and resources per service (`src/Resources/<X>Client.cs`).
Hand-written code lives in `src/Custom/` (partial classes), `tests/` and `conformance/Adapter.cs`,
which the target never writes: `outputs()` names only generated files and folders.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from concord_codegen.config import Config
from concord_codegen.headers import with_header
from concord_codegen.ir.errors import ERROR_ENUM
from concord_codegen.ir.model import Api
from concord_codegen.render import Renderer, runtime_roots
from concord_codegen.targets.base import GeneratedFile, TargetContext, TargetError
from concord_codegen.targets.csharp.methods import CsService, MethodBuilder, _group, errors_of
from concord_codegen.targets.csharp.names import pascal, xml_summary
from concord_codegen.targets.csharp.types import CsClass, CsEnum, TypeMapper

SDK_DIR = "sdks/csharp"
NAMESPACE = "Concord"
PACKAGE_ID = "Concord"
RESULT_BASE = "ConcordResult"
TEMPLATED = {
    "Concord.csproj": "Concord.csproj.j2",
    "README.md": "README.md.j2",
    "src/ConcordClient.cs": "client.j2",
    "src/Errors.cs": "errors.j2",
    "conformance/AdapterOps.cs": "adapter_ops.j2",
}
GENERATED_DIRS = ("src/Core", "src/Models", "src/Resources")
# Names the hand-written src/Custom/ files declare.
RESERVED_TYPES = frozenset(
    {
        "HeldLock",
        "Helpers",
        "HoldOptions",
        "LockLostException",
        "NonRetryableTaskException",
        "SagaWorker",
        "SagaWorkerOptions",
    }
)
_DECLARED = re.compile(
    r"^\s*(?:public|internal)[\w\s]*?\b(?:class|struct|enum|interface) (\w+)", re.MULTILINE
)


def runtime_dir() -> Path:
    """`runtime/csharp`: inside the installed package, or next to `src/` in a checkout."""
    for root in runtime_roots():
        if (root / "csharp").is_dir():
            return root / "csharp"
    raise TargetError("the C# runtime core (runtime/csharp) is missing")


def runtime_files() -> list[Path]:
    """The runtime core's C# files, sorted."""
    return sorted(runtime_dir().glob("*.cs"))


class CsharpSdkTarget:
    """Writes the C# SDK and the op table of its conformance adapter."""

    name = "csharp_sdk"

    def outputs(self, config: Config) -> tuple[str, ...]:
        """The generated files and the folders that hold only generated files."""
        return tuple(sorted(f"{SDK_DIR}/{p}" for p in [*TEMPLATED, *GENERATED_DIRS]))

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Render the templates, copy the runtime core."""
        view = build_view(context.api)
        renderer = Renderer("csharp")
        renderer.env.globals["summary"] = xml_summary
        files = {path: renderer.render(template, **view) for path, template in TEMPLATED.items()}
        for group in view["groups"]:
            files[f"src/Models/{pascal(group)}Models.cs"] = renderer.render(
                "models.j2", **view, group=group
            )
        for service in view["services"]:
            files[f"src/Resources/{service.type}.cs"] = renderer.render(
                "resources.j2", **view, service=service
            )
        for path in runtime_files():
            files[f"src/Core/{path.name}"] = path.read_text(encoding="utf-8")
        return [
            GeneratedFile(f"{SDK_DIR}/{p}", with_header(f"{SDK_DIR}/{p}", text.lstrip()))
            for p, text in sorted(files.items())
        ]


def build_view(api: Api) -> dict[str, Any]:
    """Everything the templates read."""
    types = TypeMapper(api)
    builder = MethodBuilder(api, types)
    services = [builder.service(s) for s in api.services]
    models = _models(api, types, services)
    params = [m.params for s in services for m in s.methods if m.params is not None]
    enums = _enums(api, types)
    _check_unique([*models, *params], enums, services)
    classes = [*models, *params]
    groups = sorted({c.group for c in classes} | {e.group for e in enums})
    return {
        "api": api,
        "namespace": NAMESPACE,
        "package_id": PACKAGE_ID,
        "version": api.version,
        "classes": classes,
        "enums": enums,
        "groups": groups,
        "services": services,
        "errors": errors_of(api),
        "status_codes": _status_codes(api),
        "fallback_5xx": _fallback_5xx(api),
        "runtime_files": [p.name for p in runtime_files()],
    }


def _models(api: Api, types: TypeMapper, services: list[CsService]) -> list[CsClass]:
    """Every message but the error body and requests no other message refers to."""
    used = {
        f.type.name
        for m in api.messages_by_name.values()
        for f in m.fields
        if f.type.kind == "message"
    }
    inputs = {m.input for s in api.services for m in s.methods} - used
    results = {m.output for s in api.services for m in s.methods if not m.server_streaming}
    skip = inputs | {api.error_message}
    return [
        types.model(
            m,
            types.type_name(m.full_name),
            m.doc,
            group=_group(m),
            base=RESULT_BASE if m.full_name in results else "",
        )
        for m in api.messages_by_name.values()
        if m.full_name not in skip
    ]


def _enums(api: Api, types: TypeMapper) -> list[CsEnum]:
    """Every enum but the error catalogue (which Errors.cs declares as ErrorCode)."""
    catalogue = f"{api.package}.{ERROR_ENUM}"
    found = []
    for name, enum in api.enums_by_name.items():
        if name != catalogue:
            file = enum.location.file or "common"
            found.append(types.enum(enum, file.rsplit("/", 1)[-1].removesuffix(".proto")))
    return found


def _status_codes(api: Api) -> list[tuple[int, str]]:
    """(HTTP status, ErrorCode property of its first catalogue code), by status."""
    found: dict[int, str] = {}
    for code in api.errors:
        if code.http_status and code.http_status not in found:
            found[code.http_status] = pascal(code.code)
    return sorted(found.items())


def _fallback_5xx(api: Api) -> str:
    """ErrorCode property given to a 5xx answer without a catalogue body: that of 503, else 500."""
    for status in (503, 500):
        for code in api.errors:
            if code.http_status == status:
                return pascal(code.code)
    return ""


def _check_unique(classes: list[CsClass], enums: list[CsEnum], services: list[CsService]) -> None:
    """Fail when two generated C# types (or one and a runtime or custom type) share a name."""
    runtime = {m for p in runtime_files() for m in _DECLARED.findall(p.read_text(encoding="utf-8"))}
    names = [c.name for c in classes] + [e.name for e in enums] + [s.type for s in services]
    taken = runtime | RESERVED_TYPES | {"ConcordClient", "ErrorCode", "ErrorFactory"}
    clashes = sorted({n for n in names if names.count(n) > 1 or n in taken})
    if clashes:
        raise TargetError(f"C# type names clash: {', '.join(clashes)}")


TARGET = CsharpSdkTarget()
