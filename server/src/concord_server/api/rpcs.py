"""The contract's RPCs read from the compiled protos: HTTP binding, auth facts, idempotency."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from concord_server._gen.concord.v1 import (
    auth_pb2,
    cache_pb2,
    discovery_pb2,
    events_pb2,
    health_pb2,
    locks_pb2,
    options_pb2,
    rbac_pb2,
    sagas_pb2,
)

PROTO_MODULES = (
    locks_pb2,
    sagas_pb2,
    events_pb2,
    cache_pb2,
    discovery_pb2,
    rbac_pb2,
    auth_pb2,
    health_pb2,
)
_PARAM = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_IDEMPOTENT = {
    descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS,
    descriptor_pb2.MethodOptions.IDEMPOTENT,
}


@dataclass(frozen=True)
class Rpc:
    """One RPC of the contract with everything the transports need to serve it."""

    service: str
    name: str
    request_cls: type[Message]
    response_cls: type[Message]
    server_streaming: bool
    http_method: str
    http_path: str
    http_body: str
    path_params: tuple[str, ...]
    public: bool
    action: str
    resource: str
    idempotent: bool

    @property
    def grpc_path(self) -> str:
        """The gRPC method path, e.g. `/concord.v1.LockService/AcquireLock`."""
        return f"/{self.service}/{self.name}"

    @property
    def span_name(self) -> str:
        """The name of the call's span, e.g. `concord.v1.LockService/AcquireLock`."""
        return f"{self.service}/{self.name}"


def _http_binding(method: MethodDescriptor) -> tuple[str, str, str]:
    rule = method.GetOptions().Extensions[annotations_pb2.http]
    verb = rule.WhichOneof("pattern")
    if verb is None or verb == "custom":
        raise ValueError(f"{method.full_name} has no google.api.http binding")
    return verb.upper(), str(getattr(rule, verb)), rule.body


def _rpc(service: ServiceDescriptor, method: MethodDescriptor) -> Rpc:
    verb, path, body = _http_binding(method)
    opts = method.GetOptions()
    auth: Any = opts.Extensions[options_pb2.auth]  # type: ignore[index]
    return Rpc(
        service=service.full_name,
        name=method.name,
        request_cls=GetMessageClass(method.input_type),
        response_cls=GetMessageClass(method.output_type),
        server_streaming=method.server_streaming,
        http_method=verb,
        http_path=path,
        http_body=body,
        path_params=tuple(_PARAM.findall(path)),
        public=auth.public,
        action=auth.action,
        resource=auth.resource,
        idempotent=opts.idempotency_level in _IDEMPOTENT,
    )


@cache
def all_rpcs() -> tuple[Rpc, ...]:
    """Every RPC of every Concord service, in declaration order."""
    rpcs: list[Rpc] = []
    for module in PROTO_MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            rpcs.extend(_rpc(service, m) for m in service.methods)
    return tuple(rpcs)


def resource_of(rpc: Rpc, request: Message) -> str:
    """The RBAC resource of a call: the template with the request's field values filled in."""

    def fill(match: re.Match[str]) -> str:
        return str(getattr(request, match.group(1), ""))

    return _PARAM.sub(fill, rpc.resource)
