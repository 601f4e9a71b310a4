"""Diagnostics: collected together, with a level and a file:line location."""

from __future__ import annotations

from concord_codegen.diagnostics import Level
from concord_codegen.loader import load
from tests.conftest import MakeRoot
from tests.helpers import PREAMBLE, build
from tests.inline_protos import BROKEN, COMMON


def messages(make_root: MakeRoot, protos: dict[str, str]) -> list[str]:
    _, diagnostics = build(make_root(protos))
    return [str(d) for d in diagnostics.sorted()]


def test_broken_rpcs_are_reported_together(make_root: MakeRoot) -> None:
    _, diagnostics = build(make_root({"common.proto": COMMON, "broken.proto": BROKEN}))
    errors = [d.message for d in diagnostics.errors]
    assert "RPC Unbound has no google.api.http binding" in errors
    assert "RPC BadPath: path parameter 'thing_id' is not a scalar field" in errors
    assert any(
        "ListThings looks paginated but response ListThingsResponse needs 'string next_page_token'"
        in e
        for e in errors
    )
    assert any("Undocumented.nothing: numeric bounds do not apply" in e for e in errors)
    assert len(diagnostics.errors) == 4


def test_locations_point_at_the_proto(make_root: MakeRoot) -> None:
    _, diagnostics = build(make_root({"common.proto": COMMON, "broken.proto": BROKEN}))
    unbound = next(d for d in diagnostics.errors if "Unbound" in d.message)
    assert unbound.location.file == "concord/v1/broken.proto"
    source = BROKEN.splitlines()
    assert "rpc Unbound" in source[unbound.location.line - 1]
    assert str(unbound).startswith(f"concord/v1/broken.proto:{unbound.location.line}: error:")


def test_undocumented_things_are_warnings(make_root: MakeRoot) -> None:
    _, diagnostics = build(make_root({"common.proto": COMMON, "broken.proto": BROKEN}))
    warnings = {d.message for d in diagnostics.items if d.level is Level.WARNING}
    assert "message Undocumented is undocumented" in warnings
    assert "field Undocumented.nothing is undocumented" in warnings


def test_error_code_without_rule_and_missing_error_message(make_root: MakeRoot) -> None:
    proto = (
        PREAMBLE
        + """
// Codes.
enum ErrorCode {
  // Unset.
  ERROR_CODE_UNSPECIFIED = 0;
  // No rule.
  ERROR_CODE_ORPHAN = 1;
  // Bad status.
  ERROR_CODE_ODD = 2 [(concord.v1.error_rule) = {http_status: 200, grpc_code: "NOPE"}];
}
"""
    )
    found = messages(make_root, {"common.proto": proto})
    assert any("error code ERROR_CODE_ORPHAN has no (concord.v1.error_rule)" in m for m in found)
    assert any("http_status 200 not 4xx/5xx" in m for m in found)
    assert any("unknown gRPC code 'NOPE'" in m for m in found)
    assert any("no top-level message 'Error'" in m for m in found)


def test_rules_that_do_not_fit_and_bad_bounds(make_root: MakeRoot) -> None:
    proto = (
        COMMON
        + """
// Odd rules.
message Odd {
  // A number with a pattern.
  int32 n = 1 [(concord.v1.rules) = {pattern: "x"}];
  // Bounds upside down.
  string s = 2 [(concord.v1.rules) = {min_length: 5, max_length: 2}];
  // Not a duration.
  google.protobuf.Duration d = 3 [(concord.v1.rules) = {max_duration: "ten"}];
  // Items on a scalar.
  string one = 4 [(concord.v1.rules) = {max_items: 3}];
}
"""
    )
    found = messages(make_root, {"common.proto": proto})
    assert any("Odd.n: string rules do not apply" in m for m in found)
    assert any("Odd.s: minimum length above maximum" in m for m in found)
    assert any("Odd.d: 'ten' is not a JSON duration" in m for m in found)
    assert any("Odd.one: max_items do not apply" in m for m in found)


def test_streaming_and_body_mistakes(make_root: MakeRoot) -> None:
    proto = (
        COMMON
        + """
// Streams.
service StreamService {
  // Client stream.
  rpc Upload(stream UploadRequest) returns (UploadResponse) {
    option (google.api.http) = {post: "/v1/uploads" body: "*"};
    option (concord.v1.auth) = {action: "u.up"};
  }
  // Server stream over POST.
  rpc Tail(TailRequest) returns (stream TailResponse) {
    option (google.api.http) = {post: "/v1/tail" body: "nope"};
    option (concord.v1.auth) = {action: "u.tail", resource: "tails/{missing}"};
  }
}
// R.
message UploadRequest {}
// R.
message UploadResponse {}
// R.
message TailRequest {}
// R.
message TailResponse {}
"""
    )
    found = messages(make_root, {"common.proto": proto})
    assert any("Upload: client streaming has no REST mapping" in m for m in found)
    assert any("Tail: server streaming must bind to GET" in m for m in found)
    assert any("Tail: body 'nope' is not a request field" in m for m in found)
    assert any("auth resource uses unknown field 'missing'" in m for m in found)


def test_protoc_errors_become_diagnostics(make_root: MakeRoot) -> None:
    config = make_root({"bad.proto": PREAMBLE + "message Broken { Missing m = 1; }\n"})
    spec = load(config)
    errors = spec.diagnostics.errors
    assert errors, "protoc should have failed"
    assert errors[0].location.file == "concord/v1/bad.proto"
    assert errors[0].location.line == len(PREAMBLE.splitlines()) + 1
    assert "Missing" in errors[0].message


def test_duplicate_sdk_method_names_are_an_error(make_root: MakeRoot) -> None:
    proto = """
syntax = "proto3";
package concord.v1;
import "concord/v1/options.proto";
import "google/api/annotations.proto";
// Docs.
service ThingService {
  option (sdk_service) = {resource: "things"};
  // A.
  rpc GetThing(GetThingRequest) returns (GetThingResponse) {
    option (sdk) = {method: "get"};
    option (google.api.http) = {get: "/v1/things/{name}"};
  }
  // B.
  rpc FetchThing(FetchThingRequest) returns (FetchThingResponse) {
    option (sdk) = {method: "get"};
    option (google.api.http) = {get: "/v1/things/{name}:fetch"};
  }
}
// R.
message GetThingRequest { string name = 1; }
// R.
message GetThingResponse {}
// R.
message FetchThingRequest { string name = 1; }
// R.
message FetchThingResponse {}
"""
    _, diagnostics = build(make_root({"things.proto": proto}))
    assert any("SDK name 'get' of FetchThing" in str(d) for d in diagnostics.errors)
