"""Where the Java targets' tools are: the generated tree's `.scratch/java`, else this checkout's."""

from __future__ import annotations

import os
from pathlib import Path

# generator/src/concord_codegen/targets/java/tools.py -> the repository holding the generator
CHECKOUT = Path(__file__).resolve().parents[5]


def tool_path(root: Path, relative: str, override: str) -> Path:
    """The tool at `relative` under `root` or this checkout (env `override` wins when set)."""
    given = os.environ.get(override)
    if given:
        return Path(given)
    for base in (root, CHECKOUT):
        if (base / relative).exists():
            return base / relative
    return root / relative
