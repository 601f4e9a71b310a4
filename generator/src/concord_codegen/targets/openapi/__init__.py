"""The OpenAPI 3.1 document (`openapi`), derived from the contract like every other target."""

from __future__ import annotations

from concord_codegen.targets.openapi.document import TARGET

TARGETS = (TARGET,)
