"""Documentation derived from the contract (`docs`): today the error catalogue."""

from __future__ import annotations

from concord_codegen.targets.docs.errors import TARGET

TARGETS = (TARGET,)
