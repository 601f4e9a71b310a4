"""Target registry: every module here that defines `TARGET` is a target, found at run time.

An SDK is added as `targets/<lang>.py` (defining `TARGET`) plus `templates/<lang>/...`;
the pipeline does not change.
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
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        target: Target | None = getattr(module, "TARGET", None)
        if target is not None:
            found[target.name] = target
    return dict(sorted(found.items()))
