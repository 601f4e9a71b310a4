"""Where the contract lives and where each output goes, relative to the repository root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_VERSION = "0.1.0"
PROTO_PACKAGE_DIR = "concord/v1"


class RootNotFoundError(Exception):
    """No directory containing `spec/proto` was found."""


@dataclass(frozen=True)
class Config:
    """Paths of one generator run; every output path is relative to `root`."""

    root: Path
    proto_dir: str = "spec/proto"
    third_party_dir: str = "spec/third_party"
    version_file: str = "spec/VERSION"
    openapi_out: str = "spec/openapi/openapi.yaml"
    grpc_out: str = "server/src/concord_server/_gen"
    grpc_package: str = "concord_server._gen"
    manifest: str = "generated-manifest.json"

    @property
    def proto_root(self) -> Path:
        """Absolute include root of the contract protos."""
        return self.root / self.proto_dir

    @property
    def third_party_root(self) -> Path:
        """Absolute include root of the vendored googleapis protos."""
        return self.root / self.third_party_dir

    def contract_files(self) -> list[str]:
        """The contract's proto files, relative to `proto_root`, sorted."""
        package_dir = self.proto_root / PROTO_PACKAGE_DIR
        return sorted(
            p.relative_to(self.proto_root).as_posix() for p in package_dir.glob("*.proto")
        )

    def api_version(self) -> str:
        """The contract version: `spec/VERSION` when present, else the default."""
        path = self.root / self.version_file
        if path.is_file():
            return path.read_text(encoding="utf-8").strip() or DEFAULT_VERSION
        return DEFAULT_VERSION


def find_root(start: Path) -> Path:
    """Walk up from `start` to the first directory that contains `spec/proto`."""
    for candidate in [start, *start.parents]:
        if (candidate / "spec" / "proto").is_dir():
            return candidate
    raise RootNotFoundError(f"no directory containing spec/proto above {start}")
