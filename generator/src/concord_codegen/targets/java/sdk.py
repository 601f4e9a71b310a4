"""Java SDK target: `sdks/java` (Maven: `concord-sdk`, `concord-sdk-grpc`, the adapter module).

Templates (`templates/java/*.j2`) map the IR, one class per file as Java wants: models, params
and enums in `dev.concord.models`, one resource class per service (and its async twin) in
`dev.concord.resources`, an exception per catalogue code in `dev.concord.errors`, the clients in
`dev.concord`. The runtime core (`runtime/java/concord-sdk/**`: transports, retries, paging,
streams, the JSON mapping) is copied as is. Hand-written code (`dev/concord/custom`, tests, the
adapter loop) is never written: `outputs()` lists generated files and wholly generated folders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from concord_codegen.config import Config
from concord_codegen.headers import with_header
from concord_codegen.ir.errors import ERROR_ENUM
from concord_codegen.ir.model import Api
from concord_codegen.render import Renderer, runtime_roots
from concord_codegen.targets.base import GeneratedFile, TargetContext, TargetError
from concord_codegen.targets.java.formatter import format_java
from concord_codegen.targets.java.methods import JavaService, MethodBuilder, errors_of
from concord_codegen.targets.java.types import JavaClass, JavaEnum, TypeMapper

SDK_DIR = "sdks/java"
GROUP = "dev.concord"
CORE_MODULE = "concord-sdk"
GRPC_MODULE = "concord-sdk-grpc"
ADAPTER_MODULE = "conformance"
SRC = f"{CORE_MODULE}/src/main/java/dev/concord"
CUSTOM_DIR = f"{SRC}/custom"
ADAPTER_OPS = f"{ADAPTER_MODULE}/src/main/java/dev/concord/conformance/Ops.java"
POMS = {
    "pom.xml": "parent",
    f"{CORE_MODULE}/pom.xml": "sdk",
    f"{GRPC_MODULE}/pom.xml": "grpc",
    f"{ADAPTER_MODULE}/pom.xml": "conformance",
}
CLIENTS = {f"{SRC}/ConcordClient.java": "sync", f"{SRC}/ConcordAsyncClient.java": "async"}
# Folders written only by this target (the runtime core's and the templates' classes).
OWNED_DIRS = (f"{SRC}/core", f"{SRC}/errors", f"{SRC}/models", f"{SRC}/resources")


def runtime_dir() -> Path:
    """`runtime/java`: inside the installed package, or next to `src/` in a checkout."""
    for root in runtime_roots():
        if (root / "java").is_dir():
            return root / "java"
    raise TargetError("the Java runtime core (runtime/java) is missing")


def runtime_files(module: str) -> dict[str, str]:
    """The runtime core's files of one Maven module (header added), by path in `sdks/java`."""
    base = runtime_dir()
    return {
        p.relative_to(base).as_posix(): with_header(p.name, p.read_text(encoding="utf-8"))
        for p in sorted((base / module).rglob("*"))
        if p.is_file()
    }


def custom_resources(root: Path) -> set[str]:
    """Resources with a hand-written subclass `dev.concord.custom.<Name>Resource`."""
    folder = root / SDK_DIR / CUSTOM_DIR
    return {p.stem for p in folder.glob("*Resource.java")} if folder.is_dir() else set()


class JavaSdkTarget:
    """Writes the Java SDK, its Maven build and the op table of its conformance adapter."""

    name = "java_sdk"

    def outputs(self, config: Config) -> tuple[str, ...]:
        """Generated files, and folders that hold nothing else."""
        names = [*POMS, *CLIENTS, "README.md", ADAPTER_OPS, *OWNED_DIRS]
        return tuple(sorted(f"{SDK_DIR}/{name}" for name in names))

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Render the templates, copy the runtime core, format every Java file."""
        view = build_view(context.api, custom_resources(context.config.root))
        renderer = Renderer("java")
        files = {path: renderer.render("pom.xml.j2", **view, part=p) for path, p in POMS.items()}
        files["README.md"] = renderer.render("README.md.j2", **view)
        for path, part in CLIENTS.items():
            files[path] = renderer.render("client.j2", **view, part=part)
        for item in [*view["models"], *view["params"], *view["enums"]]:
            files[f"{SRC}/models/{item.name}.java"] = renderer.render(
                "models.j2", **view, item=item, is_enum=isinstance(item, JavaEnum)
            )
        for svc in view["services"]:
            for part, cls in (("sync", svc.type), ("async", svc.async_type)):
                files[f"{SRC}/resources/{cls}.java"] = renderer.render(
                    "resources.j2", **view, svc=svc, part=part
                )
        for error in view["errors"]:
            files[f"{SRC}/errors/{error.type}.java"] = renderer.render(
                "errors.j2", **view, error=error, part="exception"
            )
        for part in ("ErrorCode", "ApiExceptions"):
            files[f"{SRC}/errors/{part}.java"] = renderer.render(
                "errors.j2", **view, error=None, part=part
            )
        files[ADAPTER_OPS] = renderer.render("adapter_ops.j2", **view)
        files = {p: with_header(f"{SDK_DIR}/{p}", t) for p, t in files.items()}
        files = format_java(context.config.root, files)
        files.update(runtime_files(CORE_MODULE))
        return [GeneratedFile(f"{SDK_DIR}/{p}", t) for p, t in sorted(files.items())]


def build_view(api: Api, custom: set[str]) -> dict[str, Any]:
    """Everything the templates read."""
    types = TypeMapper(api)
    builder = MethodBuilder(api, types)
    services: list[JavaService] = [builder.service(s, custom) for s in api.services]
    params = [m.params for s in services for m in s.methods if m.params is not None]
    models, enums = _models(api, types), _enums(api, types)
    _check_unique([*models, *params], enums)
    return {
        "api": api,
        "group": GROUP,
        "version": api.version,
        "models": models,
        "params": params,
        "enums": enums,
        "services": services,
        "errors": errors_of(api),
        "fallback_5xx": _fallback_5xx(api),
        "custom": sorted(custom),
        "imports": resource_imports(services),
    }


def resource_imports(services: list[JavaService]) -> dict[str, list[str]]:
    """The imports of each resource class (sync and async), by class name."""
    found: dict[str, list[str]] = {}
    for svc in services:
        models = {m.response for m in svc.methods}
        models |= {m.params.name for m in svc.methods if m.params}
        models |= {m.paging.item_type for m in svc.methods if m.paging}
        common = {f"dev.concord.models.{name}" for name in models}
        common |= {"dev.concord.core.ClientCore", "dev.concord.core.Operation"}
        common |= {"dev.concord.core.RequestOptions", "java.util.List", "java.util.Map"}
        if any(m.path_args for m in svc.methods):
            common.add("java.util.Objects")
        streams = any(m.stream for m in svc.methods)
        paged = any(m.paging for m in svc.methods)
        sync = common | {"dev.concord.core.RawResponse"}
        if streams:
            sync.add("dev.concord.core.ServerStream")
        if paged:
            sync.add("dev.concord.core.Page")
        asynchronous = common | {"java.util.concurrent.CompletableFuture"}
        if streams:
            asynchronous.add("dev.concord.core.ServerStream")
        if paged:
            asynchronous.add("dev.concord.core.AsyncPage")
        found[svc.type] = sorted(sync)
        found[svc.async_type] = sorted(asynchronous)
    return found


def _models(api: Api, types: TypeMapper) -> list[JavaClass]:
    """Every message but the error body and requests no other message refers to."""
    used = {
        f.type.name
        for m in api.messages_by_name.values()
        for f in m.fields
        if f.type.kind == "message"
    }
    inputs = {m.input for s in api.services for m in s.methods} - used
    skip = inputs | {api.error_message}
    return [
        types.model(m, types.type_name(m.full_name), m.doc)
        for m in api.messages_by_name.values()
        if m.full_name not in skip
    ]


def _enums(api: Api, types: TypeMapper) -> list[JavaEnum]:
    """Every enum but the error catalogue (which errors/ErrorCode.java declares)."""
    catalogue = f"{api.package}.{ERROR_ENUM}"
    return [types.enum(e) for name, e in api.enums_by_name.items() if name != catalogue]


def _fallback_5xx(api: Api) -> str:
    """Code given to a 5xx answer without a catalogue body: that of 503, else of 500."""
    for status in (503, 500):
        for code in api.errors:
            if code.http_status == status:
                return code.code
    return ""


def _check_unique(classes: list[JavaClass], enums: list[JavaEnum]) -> None:
    """Fail when two generated classes of `dev.concord.models` share a name."""
    names = [c.name for c in classes] + [e.name for e in enums]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise TargetError(f"Java class names clash: {', '.join(clashes)}")


TARGET = JavaSdkTarget()
