"""Python targets: the SDK (`python_sdk`), the server's gRPC stubs (`python-grpc`) and the
SDK's protobuf modules for its opt-in gRPC transport (`python_sdk_grpc`)."""

from __future__ import annotations

from concord_codegen.targets.python.grpc import SDK_TARGET as SDK_GRPC_TARGET
from concord_codegen.targets.python.grpc import TARGET as GRPC_TARGET
from concord_codegen.targets.python.sdk import TARGET as SDK_TARGET

TARGETS = (SDK_TARGET, GRPC_TARGET, SDK_GRPC_TARGET)
