"""TypeScript target: the Node/browser SDK `@concord/sdk` in `sdks/node` (`typescript_sdk`)."""

from __future__ import annotations

from concord_codegen.targets.typescript.sdk import TARGET

TARGETS = (TARGET,)
