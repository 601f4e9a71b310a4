"""The RPC table read from the protos: bindings, path parameters, auth facts, resources."""

from __future__ import annotations

import re

import pytest
from google.protobuf.descriptor import FieldDescriptor

from concord_server._gen.concord.v1 import cache_pb2, discovery_pb2, locks_pb2
from concord_server.api.rpcs import PROTO_MODULES, Rpc, all_rpcs, resource_of

RPCS = all_rpcs()
TEMPLATE_PARAM = re.compile(r"\{([^}]*)\}")


def by_name(name: str) -> Rpc:
    return next(r for r in RPCS if r.name == name)


def test_the_table_holds_every_method_of_every_service() -> None:
    declared = {
        f"/{service.full_name}/{method.name}"
        for module in PROTO_MODULES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert {r.grpc_path for r in RPCS} == declared
    assert len(RPCS) == len(declared) >= 50
    assert all_rpcs() is RPCS


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_every_rpc_has_an_http_binding(rpc: Rpc) -> None:
    assert rpc.http_method in {"GET", "POST", "PUT", "DELETE", "PATCH"}
    assert rpc.http_path.startswith("/v1/")
    assert rpc.http_body in ("", "*")
    if rpc.http_method in ("GET", "DELETE"):
        assert rpc.http_body == ""
    if rpc.server_streaming:
        assert rpc.http_method == "GET"
    assert rpc.request_cls.DESCRIPTOR.name == f"{rpc.name}Request"
    assert rpc.response_cls.DESCRIPTOR.name == f"{rpc.name}Response"


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_path_params_are_single_segment_string_fields(rpc: Rpc) -> None:
    fields = rpc.request_cls.DESCRIPTOR.fields_by_name
    assert rpc.path_params == tuple(TEMPLATE_PARAM.findall(rpc.http_path))
    for param in rpc.path_params:
        assert param in fields, (rpc.name, param)
        field = fields[param]
        assert field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated
        assert f"{{{param}}}" in rpc.http_path
    assert "**" not in rpc.http_path and "=" not in rpc.http_path


def test_http_bindings_are_unique() -> None:
    seen = {(r.http_method, r.http_path) for r in RPCS}
    assert len(seen) == len(RPCS)


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_non_public_rpcs_name_an_action_and_a_resource(rpc: Rpc) -> None:
    if rpc.public:
        assert rpc.service == "concord.v1.HealthService"
        return
    assert re.fullmatch(r"[a-z]+\.[a-z]+", rpc.action), rpc.action
    assert rpc.resource and "/" in rpc.resource
    fields = rpc.request_cls.DESCRIPTOR.fields_by_name
    for param in TEMPLATE_PARAM.findall(rpc.resource):
        assert param in fields, (rpc.name, param)
        assert not fields[param].is_repeated


def test_public_rpcs_are_the_health_probes() -> None:
    assert {r.name for r in RPCS if r.public} == {"GetLiveness", "GetReadiness"}


def test_resource_templates_fill_from_the_request() -> None:
    assert resource_of(by_name("AcquireLock"), locks_pb2.AcquireLockRequest(name="a:b")) == (
        "locks/a:b"
    )
    assert resource_of(by_name("ListLocks"), locks_pb2.ListLocksRequest(prefix="orders.")) == (
        "locks/orders.*"
    )
    assert resource_of(by_name("ListLocks"), locks_pb2.ListLocksRequest()) == "locks/*"
    entry = cache_pb2.GetCacheEntryRequest(namespace="ns", key="k@1")
    assert resource_of(by_name("GetCacheEntry"), entry) == "cache/ns/k@1"
    instance = discovery_pb2.HeartbeatRequest(service="api", instance_id="i-1")
    assert resource_of(by_name("Heartbeat"), instance) == "services/api/i-1"
    assert resource_of(by_name("ListServices"), discovery_pb2.ListServicesRequest()) == "services/*"


@pytest.mark.parametrize("rpc", [r for r in RPCS if not r.public], ids=lambda r: r.name)
def test_every_resource_template_fills_completely(rpc: Rpc) -> None:
    request = rpc.request_cls()
    for param in TEMPLATE_PARAM.findall(rpc.resource):
        setattr(request, param, f"v-{param}")
    resource = resource_of(rpc, request)
    assert "{" not in resource and "}" not in resource
    for param in TEMPLATE_PARAM.findall(rpc.resource):
        assert f"v-{param}" in resource


def test_idempotency_and_streaming_facts() -> None:
    assert by_name("GetLock").idempotent
    assert by_name("AppendToStream").idempotent
    assert not by_name("AcquireLock").idempotent
    assert by_name("StartSaga").idempotent  # the client chooses the saga id
    assert not by_name("CreateRoleBinding").idempotent
    streaming = {r.name for r in RPCS if r.server_streaming}
    assert streaming == {
        "WatchLocks",
        "SubscribeToStream",
        "SubscribeToAll",
        "WatchCache",
        "WatchService",
    }
    assert by_name("AcquireLock").grpc_path == "/concord.v1.LockService/AcquireLock"


def test_custom_verbs_follow_aip_136() -> None:
    for rpc in RPCS:
        last = rpc.http_path.rsplit("/", 1)[-1]
        if ":" in last:
            verb = last.rsplit(":", 1)[1]
            assert re.fullmatch(r"[a-z][A-Za-z]*", verb), rpc.http_path
            assert rpc.http_method in ("POST", "GET")
