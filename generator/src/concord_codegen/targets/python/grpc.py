"""Python gRPC target: protoc stubs under `server/src/concord_server/_gen/`, imports rewritten."""

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
    """Writes `_pb2.py`, `_pb2.pyi` and `_pb2_grpc.py` for every contract proto."""

    name = "python-grpc"

    def outputs(self, config: Config) -> tuple[str, ...]:
        """The whole `_gen` package."""
        return (config.grpc_out,)

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Run protoc into a temp dir, rewrite imports, add headers and `__init__.py` files."""
        config = context.config
        with tempfile.TemporaryDirectory(prefix="concord-gen-py-") as tmp:
            stubs = _run(context, Path(tmp))
            produced = sorted(p for p in stubs.rglob("*") if p.is_file())
            files = [self._file(config, stubs, p) for p in produced]
        return [*files, *_package_inits(config, files)]

    def _file(self, config: Config, tmp: Path, produced: Path) -> GeneratedFile:
        relative = produced.relative_to(tmp).as_posix()
        path = f"{config.grpc_out}/{relative}"
        text = rewrite_imports(produced.read_text(encoding="utf-8"), config.grpc_package)
        return GeneratedFile(path, with_header(path, text))


def _run(context: TargetContext, out: Path) -> Path:
    """protoc --python_out --grpc_python_out --pyi_out over the contract sources.

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
            f"--grpc_python_out={stubs}",
            f"--pyi_out={stubs}",
            *(f.name for f in context.spec.contract_files),
        ]
    )
    if result.returncode != 0:
        raise StubGenerationError(result.stderr.strip() or "protoc failed")
    return stubs


def _package_inits(config: Config, files: list[GeneratedFile]) -> list[GeneratedFile]:
    """An `__init__.py` in `_gen` and in every directory below it that holds stubs."""
    root = config.grpc_out
    dirs = {root}
    for file in files:
        parent = file.path.rsplit("/", 1)[0]
        while parent.startswith(root):
            dirs.add(parent)
            parent = parent.rsplit("/", 1)[0]
    inits = [f"{d}/__init__.py" for d in sorted(dirs)]
    return [GeneratedFile(p, with_header(p, "")) for p in inits]


TARGET = PythonGrpcTarget()
