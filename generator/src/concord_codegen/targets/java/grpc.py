"""Java gRPC target: protobuf-java classes of the contract and the method table of the
`concord-sdk-grpc` artifact.

grpcio-tools' protoc has no Java generator, so this target runs the protoc release that matches
the protobuf-java runtime (`com.google.protobuf:protoc`, from Maven Central; `scripts/sdk/java.sh`
puts it at `.scratch/java/bin/protoc`) with `--java_out`, writing the message classes into
`sdks/java/concord-sdk-grpc/src/main/java/dev/concord/v1` (the contract's `java_package`). The
transport calls methods by descriptor (`GrpcMethods.java`, rendered from the IR: one
`io.grpc.MethodDescriptor` per RPC with protobuf marshallers of the generated classes), so no
`protoc-gen-grpc-java` stubs are needed: that plugin's native executable is not served by the
registry reachable here, and its client stubs would go unused. `GrpcCodes.java` maps a bare gRPC
status to its catalogue code. The transport itself (`runtime/java/concord-sdk-grpc/**`) is
copied as is.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from concord_codegen.config import Config
from concord_codegen.headers import with_header
from concord_codegen.ir.model import Api
from concord_codegen.loader.protoc import include_args
from concord_codegen.render import Renderer
from concord_codegen.targets.base import GeneratedFile, TargetContext, TargetError
from concord_codegen.targets.go.grpc import status_codes
from concord_codegen.targets.java.formatter import format_java
from concord_codegen.targets.java.sdk import GRPC_MODULE, SDK_DIR, runtime_files

MODULE_DIR = f"{SDK_DIR}/{GRPC_MODULE}"
JAVA_ROOT = f"{GRPC_MODULE}/src/main/java"
PB_DIR = f"{JAVA_ROOT}/dev/concord/v1"
GRPC_DIR = f"{JAVA_ROOT}/dev/concord/grpc"
JAVA_PACKAGE = "dev.concord.v1"
PROTOC = ".scratch/java/bin/protoc"


class JavaProtocMissingError(TargetError):
    """The protoc with the Java generator is not installed."""


def find_protoc(root: Path) -> Path:
    """`CONCORD_JAVA_PROTOC`, else `.scratch/java/bin/protoc`; a clear error when missing."""
    protoc = Path(os.environ.get("CONCORD_JAVA_PROTOC", root / PROTOC))
    if not (protoc.is_file() and os.access(protoc, os.X_OK)):
        raise JavaProtocMissingError(
            f"{PROTOC} not found: run `scripts/setup.sh sdks` (scripts/sdk/java.sh installs "
            "the protoc that matches protobuf-java)"
        )
    return protoc


class JavaGrpcTarget:
    """Writes the protobuf-java classes, GrpcMethods.java, GrpcCodes.java and the transport."""

    name = "java_grpc"

    def outputs(self, config: Config) -> tuple[str, ...]:
        """The protobuf package and the transport package (both wholly generated or copied)."""
        return (f"{SDK_DIR}/{PB_DIR}", f"{SDK_DIR}/{GRPC_DIR}")

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Run protoc --java_out, render the tables, copy the transport."""
        if not check_java_packages(context):
            return []
        files = {f"{JAVA_ROOT}/{p}": t for p, t in _protoc_java(context).items()}
        renderer = Renderer("java")
        view = {"api": context.api, "rpcs": rpcs(context.api), "codes": status_codes(context.api)}
        rendered = {
            f"{GRPC_DIR}/{name}.java": renderer.render("grpc.j2", **view, part=name)
            for name in ("GrpcMethods", "GrpcCodes")
        }
        rendered = {p: with_header(f"{SDK_DIR}/{p}", t) for p, t in rendered.items()}
        files.update(format_java(context.config.root, rendered))
        files.update(runtime_files(GRPC_MODULE))
        return [GeneratedFile(f"{SDK_DIR}/{p}", t) for p, t in sorted(files.items())]


def check_java_packages(context: TargetContext) -> bool:
    """False for a contract without Java bindings; an error when a file has another package."""
    packages = {
        f.name: f.options.java_package
        for f in context.spec.contract_files
        if not f.name.endswith("/options.proto")
    }
    if not any(packages.values()):
        return False
    wrong = sorted(n for n, p in packages.items() if p != JAVA_PACKAGE)
    if wrong:
        raise TargetError(f"java_package of {', '.join(wrong)} must be {JAVA_PACKAGE}")
    return True


def _protoc_java(context: TargetContext) -> dict[str, str]:
    """protoc --java_out over the contract sources; paths relative to the Java source root."""
    config = context.config
    with tempfile.TemporaryDirectory(prefix="concord-gen-java-grpc-") as tmp:
        out = Path(tmp)
        result = subprocess.run(
            [
                str(find_protoc(config.root)),
                *include_args([config.proto_root, config.third_party_root]),
                f"--java_out={out}",
                *(f.name for f in context.spec.contract_files),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise TargetError(result.stderr.strip() or "protoc --java_out failed")
        produced = sorted(p for p in out.rglob("*.java") if p.is_file())
        if not produced:
            raise TargetError("protoc wrote no Java files: check the java_package options")
        return {
            p.relative_to(out).as_posix(): with_header(p.name, p.read_text(encoding="utf-8"))
            for p in produced
        }


def rpcs(api: Api) -> list[dict[str, str]]:
    """Every RPC: service, name, streaming, and the Java classes of its messages."""
    found = []
    for service in api.services:
        for method in service.methods:
            found.append(
                {
                    "service": service.full_name,
                    "rpc": method.name,
                    "type": "SERVER_STREAMING" if method.server_streaming else "UNARY",
                    "input": api.local_name(method.input),
                    "output": api.local_name(method.output),
                }
            )
    return found


TARGET = JavaGrpcTarget()
