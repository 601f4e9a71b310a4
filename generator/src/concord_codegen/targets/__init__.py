"""Target registry: one package per language or artifact, found at run time.

A package here (`targets/<lang>/`) registers by defining `TARGETS`, a tuple of targets, in its
`__init__`; its templates live in `templates/<lang>/` and its runtime core in `runtime/<lang>/`.
The pipeline does not change when a target is added.
"""

from __future__ import annotations

import importlib
import pkgutil

from concord_codegen.targets.base import GeneratedFile, Target, TargetContext

__all__ = ["GeneratedFile", "Target", "TargetContext", "discover"]


def discover() -> dict[str, Target]:
    """Every registered target by name, sorted by name."""
    found: dict[str, Target] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or not info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        targets: tuple[Target, ...] = getattr(module, "TARGETS", ())
        for target in targets:
            found[target.name] = target
    return dict(sorted(found.items()))
