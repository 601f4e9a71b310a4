"""Python gRPC targets: protoc stubs with imports rewritten, for the server and for the SDK.

The server's stubs go under `server/src/concord_server/_gen/`; the SDK's (`_pb2` modules only,
no service stubs: its opt-in gRPC transport calls methods by path) under
`sdks/python/src/concord/_grpc_gen/`.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from concord_codegen.config import Config
from concord_codegen.headers import with_header
from concord_codegen.loader.protoc import include_args, run_protoc
from concord_codegen.targets.base import GeneratedFile, TargetContext, TargetError

SOURCE_PACKAGE = "concord"
_FROM_IMPORT = re.compile(rf"^(\s*)from {SOURCE_PACKAGE}((?:\.\w+)+) import ", re.MULTILINE)
_MODULE_NAME = re.compile(
    rf"^(_builder\.BuildTopDescriptorsAndMessages\(DESCRIPTOR, ')({SOURCE_PACKAGE}\.)", re.MULTILINE
)
_PLAIN_IMPORT = re.compile(
    rf"^(\s*)import {SOURCE_PACKAGE}((?:\.\w+)+)(\s+as\s+\w+)?[ \t]*$", re.MULTILINE
)


class StubGenerationError(TargetError):
    """protoc failed to produce the Python stubs."""


def rewrite_imports(source: str, package: str) -> str:
    """Point `concord.v1` imports (both forms) and module names at `<package>.concord.v1`.

    `import concord.v1.x_pb2` binds the name `concord`; the rewrite keeps that binding by
    importing the module and then `concord` itself from `package`. The module name given to
    protobuf's builder becomes the real one, so `__module__` (and pickling) are right.
    """
    source = _FROM_IMPORT.sub(rf"\1from {package}.{SOURCE_PACKAGE}\2 import ", source)
    source = _MODULE_NAME.sub(rf"\1{package}.\2", source)

    def plain(match: re.Match[str]) -> str:
        indent, dotted, alias = match[1], match[2], match[3]
        line = f"{indent}import {package}.{SOURCE_PACKAGE}{dotted}"
        if alias:
            return line + alias
        return f"{line}\n{indent}from {package} import {SOURCE_PACKAGE}"

    return _PLAIN_IMPORT.sub(plain, source)


class PythonGrpcTarget:
    """Writes `_pb2.py`, `_pb2.pyi` (and `_pb2_grpc.py` with `services`) for every contract
    proto into `out` (default: the config's `grpc_out`), importable as `package`."""

    def __init__(
        self,
        name: str = "python-grpc",
        *,
        out: str | None = None,
        package: str | None = None,
        services: bool = True,
    ) -> None:
        self.name = name
        self._out = out
        self._package = package
        self._services = services

    def out(self, config: Config) -> str:
        """The stubs' folder, relative to the repository root."""
        return self._out or config.grpc_out

    def package(self, config: Config) -> str:
        """The stubs' import package."""
        return self._package or config.grpc_package

    def outputs(self, config: Config) -> tuple[str, ...]:
        """The whole stubs package."""
        return (self.out(config),)

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Run protoc into a temp dir, rewrite imports, add headers and `__init__.py` files."""
        config = context.config
        with tempfile.TemporaryDirectory(prefix="concord-gen-py-") as tmp:
            stubs = _run(context, Path(tmp), self._services)
            produced = sorted(p for p in stubs.rglob("*") if p.is_file())
            files = [self._file(config, stubs, p) for p in produced]
        return [*files, *_package_inits(self.out(config), files)]

    def _file(self, config: Config, tmp: Path, produced: Path) -> GeneratedFile:
        relative = produced.relative_to(tmp).as_posix()
        path = f"{self.out(config)}/{relative}"
        text = rewrite_imports(produced.read_text(encoding="utf-8"), self.package(config))
        return GeneratedFile(path, with_header(path, text))


def _run(context: TargetContext, out: Path, services: bool) -> Path:
    """protoc --python_out --pyi_out (and --grpc_python_out) over the contract sources.

    Compiled from source rather than from the loaded descriptor set: a set written by
    `--descriptor_set_out` carries explicit json_name values, which would change the
    serialized descriptors embedded in the stubs.
    """
    config = context.config
    stubs = out / "stubs"
    stubs.mkdir()
    result = run_protoc(
        [
            *include_args([config.proto_root, config.third_party_root]),
            f"--python_out={stubs}",
            *([f"--grpc_python_out={stubs}"] if services else []),
            f"--pyi_out={stubs}",
            *(f.name for f in context.spec.contract_files),
        ]
    )
    if result.returncode != 0:
        raise StubGenerationError(result.stderr.strip() or "protoc failed")
    return stubs


def _package_inits(root: str, files: list[GeneratedFile]) -> list[GeneratedFile]:
    """An `__init__.py` in `root` and in every directory below it that holds stubs."""
    dirs = {root}
    for file in files:
        parent = file.path.rsplit("/", 1)[0]
        while parent.startswith(root):
            dirs.add(parent)
            parent = parent.rsplit("/", 1)[0]
    inits = [f"{d}/__init__.py" for d in sorted(dirs)]
    return [GeneratedFile(p, with_header(p, "")) for p in inits]


TARGET = PythonGrpcTarget()
SDK_STUBS_DIR = "sdks/python/src/concord/_grpc_gen"
SDK_TARGET = PythonGrpcTarget(
    "python_sdk_grpc", out=SDK_STUBS_DIR, package="concord._grpc_gen", services=False
)
