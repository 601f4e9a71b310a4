"""TypeScript SDK target: `@concord/sdk` under `sdks/node` (ESM + CommonJS, zero dependencies).

Templates (`templates/typescript/*.j2`) map the IR; the runtime core (`runtime/typescript/*.ts`:
transport, retries, errors, pagination, SSE and WebSocket streams) is copied as is into
`src/core/`. `package.json` is rendered too, so its version is the contract's (`spec/VERSION`);
JSON has no comments, so its generated-file marker is its `"//"` member. Hand-written code is
never written here: `src/custom/` (a `custom/<resource>.ts` exporting a subclass of the
generated resource replaces it in the client), the tests, the adapter loop, the lock file and
the build configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from concord_codegen.config import Config
from concord_codegen.headers import with_header
from concord_codegen.ir.model import Api
from concord_codegen.render import Renderer, runtime_roots
from concord_codegen.targets.base import GeneratedFile, TargetContext, TargetError
from concord_codegen.targets.typescript.methods import MethodBuilder, TsService, errors_of
from concord_codegen.targets.typescript.names import import_line, jsdoc, literal
from concord_codegen.targets.typescript.types import TsModule, TypeMapper

SDK_DIR = "sdks/node"
SRC = f"{SDK_DIR}/src"
CUSTOM_DIR = f"{SRC}/custom"
OPS_FILE = f"{SDK_DIR}/conformance/adapter-ops.ts"
PACKAGE = "@concord/sdk"
# Names of the runtime core that model and resource names must not take.
CORE_NAMES = frozenset(
    {
        "APIPromise", "APIResource", "ConcordCore", "Page", "PagePromise", "Stream",
        "StreamPromise", "Concord", "Duration", "Timestamp", "JsonValue", "JsonObject",
        "OtherString", "ErrorCode", "HeldLock", "SagaWorker",
    }
)  # fmt: skip
WIRE_TYPES = ("Duration", "JsonObject", "JsonValue", "OtherString", "Timestamp")


def runtime_dir() -> Path:
    """`runtime/typescript`: inside the installed package, or next to `src/` in a checkout."""
    for root in runtime_roots():
        if (root / "typescript").is_dir():
            return root / "typescript"
    raise TargetError("the TypeScript runtime core (runtime/typescript) is missing")


class TypeScriptSdkTarget:
    """Writes the TypeScript SDK, its README and the op table of its conformance adapter."""

    name = "typescript_sdk"

    def outputs(self, config: Config) -> tuple[str, ...]:
        """Generated paths only: custom code, tests and build files stay hand-written."""
        del config
        return (
            f"{SDK_DIR}/README.md",
            f"{SDK_DIR}/package.json",
            f"{SRC}/client.ts",
            f"{SRC}/errors.ts",
            f"{SRC}/index.ts",
            f"{SRC}/version.ts",
            f"{SRC}/core",
            f"{SRC}/models",
            f"{SRC}/resources",
            OPS_FILE,
        )

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Render the templates and copy the runtime core."""
        custom = custom_modules(context.config.root)
        return [*build_files(context.api, custom), *runtime_files()]


def custom_modules(root: Path) -> set[str]:
    """Modules of `src/custom/` (without `.ts`)."""
    return {p.stem for p in (root / CUSTOM_DIR).glob("*.ts")}


def runtime_files() -> list[GeneratedFile]:
    """The runtime core, copied with the generated-file header."""
    files = []
    for source in sorted(runtime_dir().glob("*.ts")):
        path = f"{SRC}/core/{source.name}"
        files.append(GeneratedFile(path, with_header(path, source.read_text(encoding="utf-8"))))
    return files


def build_view(api: Api, custom: set[str]) -> dict[str, Any]:
    """Everything the templates read."""
    types = TypeMapper(api)
    builder = MethodBuilder(api, types)
    services = [builder.service(s, custom) for s in api.services]
    modules = _modules(types, builder)
    _check_unique(modules, services)
    return {
        "api": api,
        "package": PACKAGE,
        "version": api.version,
        "services": services,
        "modules": modules,
        "errors": errors_of(api),
        "status_codes": _status_codes(api),
        "fallback_5xx": _fallback_5xx(api),
        "param_types": sorted(
            [
                *(m.params.name for s in services for m in s.methods if m.params is not None),
                "Concord",
                "RequestOptions",
            ]
        ),
        "client_imports": _client_imports(services),
        "index_exports": _index_exports(services, "index" in custom),
    }


def _resource_source(service: TsService) -> str:
    return f"./{'custom' if service.custom else 'resources'}/{service.module}.js"


def _client_imports(services: list[TsService]) -> list[str]:
    """The import lines of client.ts, sorted by source."""
    lines = {
        "./core/core.js": "import { ConcordCore } from './core/core.js';",
        "./core/options.js": "import type { ClientOptions } from './core/options.js';",
        "./errors.js": "import { codeForStatus, makeAPIError, statusForCode } from './errors.js';",
        "./version.js": "import { VERSION } from './version.js';",
    }
    for s in services:
        lines[_resource_source(s)] = f"import {{ {s.cls} }} from '{_resource_source(s)}';"
    return [lines[k] for k in sorted(lines)]


def _index_exports(services: list[TsService], custom_index: bool) -> list[str]:
    """The generated export lines of index.ts after the core's, sorted by source."""
    lines = {
        "./errors.js": "export * from './errors.js';",
        "./models/index.js": "export type * from './models/index.js';",
        "./version.js": "export { VERSION } from './version.js';",
    }
    if custom_index:
        lines["./custom/index.js"] = "export * from './custom/index.js';"
    for s in services:
        lines[_resource_source(s)] = f"export {{ {s.cls} }} from '{_resource_source(s)}';"
    return [lines[k] for k in sorted(lines)]


def build_files(api: Api, custom: set[str]) -> list[GeneratedFile]:
    """The templated files."""
    view = build_view(api, custom)
    renderer = Renderer("typescript")
    renderer.env.filters["jsdoc"] = jsdoc
    renderer.env.filters["literal"] = literal
    renderer.env.globals["import_line"] = import_line
    files = [
        renderer.file(f"{SDK_DIR}/README.md", "README.md.j2", **view),
        GeneratedFile(f"{SDK_DIR}/package.json", renderer.render("package.json.j2", **view)),
        renderer.file(f"{SRC}/client.ts", "client.j2", **view),
        renderer.file(f"{SRC}/errors.ts", "errors.j2", **view),
        renderer.file(f"{SRC}/index.ts", "index.j2", **view),
        renderer.file(f"{SRC}/models/index.ts", "models_index.j2", **view),
        renderer.file(OPS_FILE, "adapter_ops.j2", **view),
        GeneratedFile(
            f"{SRC}/version.ts",
            with_header(
                f"{SRC}/version.ts",
                f"/** The SDK version. */\nexport const VERSION = '{api.version}';\n",
            ),
        ),
    ]
    for module in view["modules"]:
        imports = _model_imports(module, view["modules"])
        files.append(
            renderer.file(
                f"{SRC}/models/{module.stem}.ts", "models.j2", module=module, imports=imports
            )
        )
    for service in view["services"]:
        files.append(
            renderer.file(
                f"{SRC}/resources/{service.module}.ts",
                "resources.j2",
                service=service,
                **_resource_imports(service, view["modules"]),
            )
        )
    return files


def _modules(types: TypeMapper, builder: MethodBuilder) -> list[TsModule]:
    """The model modules, one per proto file, in file-name order."""
    by_stem: dict[str, TsModule] = {}
    for stem, enum in types.enums():
        by_stem.setdefault(stem, TsModule(stem)).enums.append(enum)
    for stem, interface in types.models():
        by_stem.setdefault(stem, TsModule(stem)).interfaces.append(interface)
    for stem, interfaces in builder.params.items():
        by_stem.setdefault(stem, TsModule(stem)).interfaces.extend(interfaces)
    return [by_stem[s] for s in sorted(by_stem)]


def _home(modules: list[TsModule]) -> dict[str, str]:
    return {name: m.stem for m in modules for name in m.names}


def _model_imports(module: TsModule, modules: list[TsModule]) -> list[tuple[str, list[str]]]:
    """(module path, names) a model module imports: core wire types, then sibling modules."""
    home = _home(modules)
    used = {r for i in module.interfaces for r in i.refs}
    used |= {"OtherString"} if module.enums else set()
    found: dict[str, set[str]] = {}
    for name in used:
        if name in WIRE_TYPES:
            found.setdefault("../core/wire.js", set()).add(name)
        elif home.get(name, module.stem) != module.stem:
            found.setdefault(f"./{home[name]}.js", set()).add(name)
    return [(path, sorted(found[path])) for path in sorted(found, key=_import_order)]


def _resource_imports(service: TsService, modules: list[TsModule]) -> dict[str, Any]:
    home = _home(modules)
    by_module: dict[str, list[str]] = {}
    for name in service.type_imports:
        by_module.setdefault(home[name], []).append(name)
    return {"model_imports": sorted(by_module.items())}


def _import_order(path: str) -> tuple[int, str]:
    """Farther paths first (`../` before `./`), as Biome's import sorting does."""
    return (0 if path.startswith("../") else 1, path)


def _status_codes(api: Api) -> list[tuple[int, str]]:
    """(HTTP status, its first catalogue code), by status."""
    found: dict[int, str] = {}
    for code in api.errors:
        if code.http_status and code.http_status not in found:
            found[code.http_status] = code.code
    return sorted(found.items())


def _fallback_5xx(api: Api) -> str:
    """Code of a 5xx answer without a catalogue body: that of 503, else of 500."""
    for status in (503, 500):
        for code in api.errors:
            if code.http_status == status:
                return code.code
    return ""


def _check_unique(modules: list[TsModule], services: list[TsService]) -> None:
    """Fail when two generated names (or one and a runtime name) are the same."""
    names = [n for m in modules for n in m.names] + [s.cls for s in services]
    clashes = sorted({n for n in names if names.count(n) > 1 or n in CORE_NAMES})
    if clashes:
        raise TargetError(f"TypeScript type names clash: {', '.join(clashes)}")


TARGET = TypeScriptSdkTarget()
