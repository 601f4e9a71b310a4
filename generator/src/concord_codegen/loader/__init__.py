"""Loader: compile the contract with protoc and expose descriptors, options and comments."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.descriptor_pb2 import FileDescriptorProto, FileDescriptorSet

from concord_codegen.config import Config
from concord_codegen.diagnostics import Diagnostics, Location
from concord_codegen.loader.options import OptionReader
from concord_codegen.loader.protoc import include_args, run_protoc
from concord_codegen.loader.source_info import SourceIndex

__all__ = ["LoadedSpec", "load"]


@dataclass
class LoadedSpec:
    """The compiled contract: all descriptors, the contract's own files, options and comments."""

    descriptor_set: FileDescriptorSet
    contract_files: list[FileDescriptorProto]
    options: OptionReader
    sources: dict[str, SourceIndex]
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


def load(config: Config) -> LoadedSpec:
    """Compile every contract proto into a FileDescriptorSet and index it."""
    names = config.contract_files()
    descriptor_set, diagnostics = compile_descriptor_set(config, names)
    wanted = set(names)
    contract = [f for f in descriptor_set.file if f.name in wanted]
    return LoadedSpec(
        descriptor_set=descriptor_set,
        contract_files=sorted(contract, key=lambda f: f.name),
        options=OptionReader(descriptor_set),
        sources={f.name: SourceIndex(f) for f in contract},
        diagnostics=diagnostics,
    )


def compile_descriptor_set(
    config: Config, names: list[str]
) -> tuple[FileDescriptorSet, Diagnostics]:
    """Run protoc over `names` and parse the descriptor set it writes."""
    diagnostics = Diagnostics()
    if not names:
        diagnostics.error(Location(config.proto_dir), "no .proto files found in the contract")
        return FileDescriptorSet(), diagnostics
    with tempfile.TemporaryDirectory(prefix="concord-gen-") as tmp:
        out = Path(tmp) / "descriptor_set.pb"
        result = run_protoc(
            [
                *include_args([config.proto_root, config.third_party_root]),
                "--include_source_info",
                "--include_imports",
                f"--descriptor_set_out={out}",
                *names,
            ]
        )
        diagnostics.extend(result.diagnostics([config.proto_root, config.third_party_root]))
        if result.returncode != 0 or not out.exists():
            return FileDescriptorSet(), diagnostics
        return FileDescriptorSet.FromString(out.read_bytes()), diagnostics
