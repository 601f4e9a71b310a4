"""What a target is: a named producer of generated files that owns some output paths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from concord_codegen.config import Config
from concord_codegen.ir.model import Api
from concord_codegen.loader import LoadedSpec


class TargetError(Exception):
    """A target could not produce its files; reported as an error diagnostic."""


@dataclass(frozen=True)
class GeneratedFile:
    """A file a target produces: posix path relative to the repository root, and its text."""

    path: str
    content: str


@dataclass(frozen=True)
class TargetContext:
    """Everything a target may read: the IR, the loaded descriptors and the paths."""

    api: Api
    spec: LoadedSpec
    config: Config


class Target(Protocol):
    """A generator target (OpenAPI, gRPC stubs, an SDK ...)."""

    @property
    def name(self) -> str:
        """The name used by `--target`."""
        ...

    def outputs(self, config: Config) -> tuple[str, ...]:
        """Files and directories (relative to the root) this target alone writes."""
        ...

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Produce every output file of this target, headers included."""
        ...


def owns(outputs: tuple[str, ...], path: str) -> bool:
    """True when `path` is one of `outputs` or lies under one of them."""
    return any(path == out or path.startswith(out.rstrip("/") + "/") for out in outputs)
