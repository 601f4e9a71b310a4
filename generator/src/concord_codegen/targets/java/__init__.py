"""Java targets: the SDK with its REST core (`java_sdk`) and the gRPC artifact (`java_grpc`)."""

from __future__ import annotations

from concord_codegen.targets.java.grpc import TARGET as GRPC_TARGET
from concord_codegen.targets.java.sdk import TARGET as SDK_TARGET

TARGETS = (SDK_TARGET, GRPC_TARGET)
