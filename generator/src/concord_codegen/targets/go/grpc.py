"""Go gRPC target: protobuf Go code of the contract for the opt-in `sdks/go/grpc` module.

protoc (from grpcio-tools) runs the Go plugin `protoc-gen-go`, found
in `tools/go-bin` (installed by `scripts/setup.sh python`) or on PATH, into
`sdks/go/grpc/internal/pb`; the contract's `go_package` points there. The target also writes
`codes.go`: the catalogue code of each gRPC status (for a status without Concord details). The
module's go.mod and its transport (`transport.go`, `convert.go`) are hand-written; the transport
calls methods by path (`conn.Invoke` / `conn.NewStream`), so no `protoc-gen-go-grpc` client or
server code is generated.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from concord_codegen.config import Config
from concord_codegen.ir.model import Api
from concord_codegen.loader.protoc import include_args, run_protoc
from concord_codegen.targets.base import GeneratedFile, TargetContext, TargetError
from concord_codegen.targets.go.names import exported
from concord_codegen.targets.go.sdk import GO_HEADER, gofmt

MODULE_DIR = "sdks/go/grpc"
MODULE = "github.com/concordhq/concord/sdks/go/grpc"
PB_DIR = f"{MODULE_DIR}/internal/pb"
CODES = f"{MODULE_DIR}/codes.go"
PLUGINS = ("protoc-gen-go",)
TOOLS_BIN = "tools/go-bin"


class GoPluginMissingError(TargetError):
    """protoc-gen-go is not installed."""


def find_plugin(root: Path, name: str) -> Path:
    """The plugin in `tools/go-bin`, else on PATH; a clear error when it is nowhere."""
    local = root / TOOLS_BIN / name
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which(name)
    if found is None:
        raise GoPluginMissingError(
            f"{name} not found in {TOOLS_BIN} or on PATH: run `scripts/setup.sh python` "
            "(it installs the pinned protoc-gen-go)"
        )
    return Path(found)


class GoGrpcTarget:
    """Writes `sdks/go/grpc/internal/pb/*.pb.go` and `sdks/go/grpc/codes.go`."""

    name = "go_grpc"

    def outputs(self, config: Config) -> tuple[str, ...]:
        """The pb package directory and codes.go (the rest of the module is hand-written)."""
        return (PB_DIR, CODES)

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Run protoc with the Go plugins, add the generated header, render codes.go."""
        if not check_go_packages(context):
            return []
        with tempfile.TemporaryDirectory(prefix="concord-gen-go-grpc-") as tmp:
            out = Path(tmp)
            _run(context, out)
            produced = sorted(p for p in out.rglob("*.go") if p.is_file())
            files = {
                p.relative_to(out).as_posix(): with_generated(p.read_text(encoding="utf-8"))
                for p in produced
            }
        if not files:
            raise TargetError("protoc wrote no Go files: check the go_package options")
        files["codes.go"] = codes_go(context.api)
        formatted = gofmt(files)
        return [GeneratedFile(f"{MODULE_DIR}/{p}", t) for p, t in sorted(formatted.items())]


def check_go_packages(context: TargetContext) -> bool:
    """False for a contract without Go bindings (no file but options.proto declares a
    go_package); an error when a file lacks one or declares one outside the module."""
    packages = {
        f.name: f.options.go_package
        for f in context.spec.contract_files
        if not f.name.endswith("/options.proto")
    }
    if not any(packages.values()):
        return False
    wrong = sorted(n for n, p in packages.items() if not p.startswith(f"{MODULE}/"))
    if wrong:
        raise TargetError(f"go_package of {', '.join(wrong)} must lie under {MODULE}/")
    return True


def with_generated(text: str) -> str:
    """The concord-gen marker above protoc-gen-go's own `Code generated` line."""
    return f"{GO_HEADER}\n\n{text}"


def _run(context: TargetContext, out: Path) -> None:
    """protoc --go_out over the contract sources, paths relative to the module."""
    config = context.config
    plugins = {name: find_plugin(config.root, name) for name in PLUGINS}
    result = run_protoc(
        [
            *include_args([config.proto_root, config.third_party_root]),
            f"--plugin=protoc-gen-go={plugins['protoc-gen-go']}",
            f"--go_out={out}",
            f"--go_opt=module={MODULE}",
            *(f.name for f in context.spec.contract_files),
        ]
    )
    if result.returncode != 0:
        raise TargetError(result.stderr.strip() or "protoc (Go plugins) failed")


def status_codes(api: Api) -> dict[str, str]:
    """gRPC status -> the catalogue code it means alone: the one of the same name, else the
    only retryable one; statuses shared by several codes (ABORTED ...) are left out."""
    found: dict[str, str] = {}
    for grpc in sorted({c.grpc_code for c in api.errors if c.grpc_code}):
        codes = [c for c in api.errors if c.grpc_code == grpc]
        same = [c for c in codes if c.code == grpc]
        retryable = [c for c in codes if c.retryable]
        chosen = same or (retryable if len(retryable) == 1 else [])
        if chosen:
            found[grpc] = chosen[0].code
    return found


def codes_go(api: Api) -> str:
    """`codes.go`: the catalogue code of a bare gRPC status, by grpc-go's codes.Code."""
    cases = "".join(
        f"\tcodes.{exported(grpc)}: concord.Code{exported(code)},\n"
        for grpc, code in status_codes(api).items()
    )
    return (
        f"{GO_HEADER}\n\npackage concordgrpc\n\n"
        'import (\n\t"google.golang.org/grpc/codes"\n\n'
        '\tconcord "github.com/concordhq/concord/sdks/go"\n)\n\n'
        "// catalogueCodes is the catalogue code of a gRPC status that carries no\n"
        "// concord.v1.Error: the code of the same name, else the only retryable one (none for\n"
        "// ABORTED ...).\n"
        f"var catalogueCodes = map[codes.Code]concord.ErrorCode{{\n{cases}}}\n"
    )


TARGET = GoGrpcTarget()
