"""C# target: the .NET SDK (`csharp_sdk`), namespace `Concord`."""

from __future__ import annotations

from concord_codegen.targets.csharp.sdk import TARGET as SDK_TARGET

TARGETS = (SDK_TARGET,)
