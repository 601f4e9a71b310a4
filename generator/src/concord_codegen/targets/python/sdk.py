"""Python SDK target: the `concord-sdk` package under `sdks/python/` (import `concord`).

Templates (`templates/python/`) map the IR; the runtime core (`runtime/python/concord/_core`)
is copied as is. Hand-written helpers live in `sdks/python/src/concord/custom/`, which this
target never writes: a `custom/<resource>.py` defining `<Resource>Resource` and
`Async<Resource>Resource` (subclasses of the generated ones) is wired into the clients instead.
Every generated Python file goes through `ruff check --select I --fix` and `ruff format`.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Sequence
from pathlib import Path

from concord_codegen.config import Config
from concord_codegen.headers import with_header
from concord_codegen.ir.model import Api
from concord_codegen.render import Renderer, runtime_roots
from concord_codegen.targets.base import GeneratedFile, TargetContext, TargetError
from concord_codegen.targets.go.grpc import status_codes
from concord_codegen.targets.python.sdk_format import format_python
from concord_codegen.targets.python.sdk_model import (
    PyError,
    PyService,
    error_views,
    model_modules,
    service_view,
    unique_statuses,
)

SDK_DIR = "sdks/python"
PACKAGE_DIR = f"{SDK_DIR}/src/concord"
CUSTOM_DIR = f"{PACKAGE_DIR}/custom"
OPS_FILE = f"{SDK_DIR}/conformance/adapter_ops.py"
LINE_LENGTH = 100
BASE_ERRORS = [
    "ERRORS",
    "APIConnectionError",
    "APITimeoutError",
    "ConcordAPIError",
    "ConcordError",
    "CrossOriginRedirectError",
    "SlowConsumerError",
]
CORE_EXPORTS = [
    "AsyncConcord",
    "AsyncConcordWithRawResponse",
    "AsyncPager",
    "AsyncStream",
    "Concord",
    "JSON_NULL",
    "ConcordWithRawResponse",
    "NOT_GIVEN",
    "NotGiven",
    "OpenEnum",
    "RawResponse",
    "ServerSentEvent",
    "Stream",
    "StreamTransport",
    "SyncPager",
    "Timeout",
    "__version__",
]


class PythonSdkTarget:
    """Writes the Python SDK package, its README and the conformance op table."""

    name = "python_sdk"

    def outputs(self, config: Config) -> tuple[str, ...]:
        """Generated paths only: `custom/`, tests and the adapter loop stay hand-written."""
        del config
        return (
            f"{SDK_DIR}/pyproject.toml",
            f"{SDK_DIR}/README.md",
            f"{PACKAGE_DIR}/__init__.py",
            f"{PACKAGE_DIR}/_version.py",
            f"{PACKAGE_DIR}/_client.py",
            f"{PACKAGE_DIR}/errors.py",
            f"{PACKAGE_DIR}/_core",
            f"{PACKAGE_DIR}/grpc.py",
            f"{PACKAGE_DIR}/models",
            f"{PACKAGE_DIR}/resources",
            OPS_FILE,
        )

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Render every template, copy the runtime core, then sort imports and format."""
        root = context.config.root
        files = build_files(context.api, custom_resources(root), custom_exports(root))
        return format_python([*files, *_runtime_files()])


def custom_resources(root: Path) -> set[str]:
    """Resources with a hand-written `custom/<resource>.py` subclass."""
    folder = root / CUSTOM_DIR
    return {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}


def custom_exports(root: Path) -> list[str]:
    """The names `custom/__init__.py` lists in `__all__`: the package re-exports them."""
    path = root / CUSTOM_DIR / "__init__.py"
    if not path.exists():
        return []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, (list, tuple)) and all(isinstance(n, str) for n in value):
                return sorted(value)
            raise TargetError(f"{path}: __all__ must be a literal list of names")
    return []


def build_files(
    api: Api, custom: set[str], helper_names: Sequence[str] = ()
) -> list[GeneratedFile]:
    """The templated files of the package (unformatted)."""
    renderer = Renderer("python")
    renderer.env.filters["pydoc"] = pydoc
    renderer.env.filters["first_sentence"] = first_sentence
    renderer.env.filters["sort_all"] = lambda names: sorted(names, key=_all_key)
    services = [service_view(api, s, custom) for s in api.services]
    modules = model_modules(api)
    errors = error_views(api)
    model_names = sorted(name for m in modules for name in m.exports)
    error_names = sorted([*BASE_ERRORS, *(e.cls for e in errors)])
    resource_names = sorted(
        f"{prefix}{s.cls}{suffix}"
        for s in services
        for prefix in ("", "Async")
        for suffix in ("", "WithRawResponse")
    )
    requests = sorted({m.request for s in services for m in s.methods if m.params})
    files = [
        renderer.file(f"{SDK_DIR}/pyproject.toml", "pyproject.toml.j2", version=api.version),
        renderer.file(
            f"{SDK_DIR}/README.md",
            "README.md.j2",
            services=services,
            api=api,
            errors=errors,
            custom=sorted(custom),
        ),
        renderer.file(
            f"{PACKAGE_DIR}/__init__.py",
            "__init__.j2",
            error_names=error_names,
            model_names=model_names,
            helper_names=list(helper_names),
            exports=sorted(
                [*CORE_EXPORTS, *error_names, *model_names, *helper_names], key=_all_key
            ),
        ),
        GeneratedFile(
            f"{PACKAGE_DIR}/_version.py",
            with_header(
                f"{PACKAGE_DIR}/_version.py",
                f'"""The SDK version."""\n\n__version__ = "{api.version}"\n',
            ),
        ),
        renderer.file(f"{PACKAGE_DIR}/_client.py", "client.j2", services=services),
        renderer.file(
            f"{PACKAGE_DIR}/errors.py",
            "errors.j2",
            errors=errors,
            by_status=unique_statuses(errors),
            by_grpc=grpc_statuses(api, errors),
        ),
        renderer.file(
            f"{PACKAGE_DIR}/models/__init__.py",
            "models_index.j2",
            modules=modules,
            names=sorted(model_names, key=_all_key),
        ),
        renderer.file(
            f"{PACKAGE_DIR}/resources/__init__.py",
            "resources_index.j2",
            services=services,
            names=sorted(resource_names, key=_all_key),
        ),
        renderer.file(OPS_FILE, "adapter_ops.j2", services=services, request_names=requests),
    ]
    files += [
        renderer.file(f"{PACKAGE_DIR}/models/{m.stem}.py", "models.j2", module=m) for m in modules
    ]
    files += [_resource_file(renderer, s) for s in services]
    return files


def grpc_statuses(api: Api, errors: Sequence[PyError]) -> dict[str, str]:
    """gRPC status name -> exception class of the catalogue code it means without details."""
    classes = {e.code: e.cls for e in errors}
    return {g: classes[c] for g, c in status_codes(api).items() if c in classes}


def _resource_file(renderer: Renderer, service: PyService) -> GeneratedFile:
    return renderer.file(
        f"{PACKAGE_DIR}/resources/{service.module}.py", "resources.j2", service=service
    )


def _runtime_files() -> list[GeneratedFile]:
    """The runtime core, copied with the generated-file header."""
    roots = [root / "python" for root in runtime_roots() if (root / "python").is_dir()]
    if not roots:
        raise TargetError("python_sdk: runtime/python not found")
    base = roots[0]
    files = []
    for source in sorted(base.rglob("*.py")):
        if "__pycache__" in source.parts:
            continue
        path = f"{SDK_DIR}/src/{source.relative_to(base).as_posix()}"
        files.append(GeneratedFile(path, with_header(path, source.read_text(encoding="utf-8"))))
    return files


def _all_key(name: str) -> tuple[int, str]:
    """`__all__` order of ruff's RUF022: SCREAMING_CASE, CamelCase, then the rest."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def pydoc(text: str, indent: int, fallback: str = "") -> str:
    """`text` as a docstring literal, prose re-wrapped to fit 100 columns at `indent`."""
    body = (text or fallback).strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if not body:
        return '""""""'
    width = LINE_LENGTH - indent - 3  # room for closing quotes wherever they end up
    lines = _wrap(body, width)
    if len(lines) == 1:
        closing = " " if body.endswith('"') else ""
        return f'"""{lines[0]}{closing}"""'
    pad = " " * indent
    rest = "\n".join(pad + line if line else "" for line in lines[1:])
    return f'"""{lines[0]}\n{rest}\n{pad}"""' if rest else f'"""{lines[0]}\n{pad}"""'


def _wrap(body: str, width: int) -> list[str]:
    """Paragraphs re-filled to `width` (3 less on the first line, for the quotes)."""
    out: list[str] = []
    for paragraph in body.split("\n\n"):
        lines = [line.strip() for line in paragraph.splitlines()]
        if out:
            out.append("")
        if any(line[:1] in "-*|`" or line[:2].rstrip(".").isdigit() for line in lines):
            out += lines
            continue
        first = "x" * 3 if not out else ""
        filled = textwrap.wrap(
            " ".join(lines),
            width,
            initial_indent=first,
            break_long_words=False,
            break_on_hyphens=False,
        )
        if filled and first:
            filled[0] = filled[0][3:]
        out += filled
    return out


def first_sentence(text: str) -> str:
    """The first sentence of a doc comment (empty when there is none)."""
    flat = " ".join((text or "").split())
    head = flat.split(". ", 1)[0]
    return head if head.endswith(".") or not head else head + "."


TARGET = PythonSdkTarget()
