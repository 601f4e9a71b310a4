"""Python targets: the SDK (`python_sdk`) and the server's gRPC stubs (`python-grpc`)."""

from __future__ import annotations

from concord_codegen.targets.python.grpc import TARGET as GRPC_TARGET
from concord_codegen.targets.python.sdk import TARGET as SDK_TARGET

TARGETS = (SDK_TARGET, GRPC_TARGET)
