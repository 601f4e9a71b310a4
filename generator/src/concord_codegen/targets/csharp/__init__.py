"""C# target: the .NET SDK (`csharp_sdk`), namespace `Concord`, built with Mono here, `dotnet` by users."""

from __future__ import annotations

from concord_codegen.targets.csharp.sdk import TARGET as SDK_TARGET

TARGETS = (SDK_TARGET,)
