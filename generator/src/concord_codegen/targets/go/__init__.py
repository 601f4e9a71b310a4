"""Go targets: the stdlib-only SDK (`go_sdk`) and its gRPC transport module (`go_grpc`)."""

from __future__ import annotations

from concord_codegen.targets.go.grpc import TARGET as GRPC_TARGET
from concord_codegen.targets.go.sdk import TARGET as SDK_TARGET

TARGETS = (SDK_TARGET, GRPC_TARGET)
