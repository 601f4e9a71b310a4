"""Small inline contracts used by the functional tests."""

from __future__ import annotations

from tests.helpers import PREAMBLE

COMMON = (
    PREAMBLE
    + """
// Error body.
message Error {
  // Code.
  ErrorCode code = 1;
  // Message.
  string message = 2;
  // Details.
  google.protobuf.Struct details = 3;
  // Request id.
  string request_id = 4;
}

// The catalogue.
enum ErrorCode {
  // Unset.
  ERROR_CODE_UNSPECIFIED = 0;
  // Bad input.
  ERROR_CODE_INVALID_ARGUMENT = 1
      [(concord.v1.error_rule) = {http_status: 400, grpc_code: "INVALID_ARGUMENT"}];
  // Lock taken.
  ERROR_CODE_LOCK_CONFLICT = 2
      [(concord.v1.error_rule) = {http_status: 409, grpc_code: "ABORTED", retryable: true}];
  // Slow down.
  ERROR_CODE_RATE_LIMITED = 3
      [(concord.v1.error_rule) = {
        http_status: 429, grpc_code: "RESOURCE_EXHAUSTED", retryable: true}];
  // Needs a credential.
  ERROR_CODE_UNAUTHENTICATED = 4
      [(concord.v1.error_rule) = {http_status: 401, grpc_code: "UNAUTHENTICATED"}];
}
"""
)

LOCKS = (
    PREAMBLE
    + """
// How an append relates to the stream.
enum ExpectedStreamState {
  // Not set.
  EXPECTED_STREAM_STATE_UNSPECIFIED = 0;
  // The stream must not exist.
  EXPECTED_STREAM_STATE_NO_STREAM = 1;
  // Anything goes.
  EXPECTED_STREAM_STATE_ANY = 2;
}

// A held lock.
//
// Second paragraph.
message Lock {
  // Lock name.
  string name = 1 [(google.api.field_behavior) = REQUIRED,
                   (concord.v1.rules) = {pattern: "^[a-z]+$", min_length: 1, max_length: 64}];
  // Fencing token.
  int64 fencing_token = 2 [(google.api.field_behavior) = OUTPUT_ONLY];
  // Expiry.
  google.protobuf.Timestamp expire_time = 3;
  // Labels.
  map<string, int64> labels = 4 [(concord.v1.rules) = {max_items: 4}];
  // Owner.
  oneof owner {
    // A client.
    string client_id = 5;
    // A session.
    int64 session_id = 6;
  }
  // Maybe a priority.
  optional int32 priority = 7 [(concord.v1.rules) = {minimum: 1, maximum: 9}];
  // Tags.
  repeated string tags = 8 [(concord.v1.rules) = {min_items: 1, max_items: 3}];
  // Extra.
  google.protobuf.Value extra = 9;
  // Lease.
  google.protobuf.Duration ttl = 10
      [(concord.v1.rules) = {min_duration: "1s", max_duration: "60s"}];
}

// Filter.
message LockFilter {
  // Prefix.
  string prefix = 1;
  // States.
  repeated ExpectedStreamState states = 2;
  // Too deep for a query.
  Lock sample = 3;
}

// Locks.
service LockService {
  // Acquire a lock.
  rpc AcquireLock(AcquireLockRequest) returns (AcquireLockResponse) {
    option (google.api.http) = {post: "/v1/locks/{name}:acquire" body: "*"};
    option (concord.v1.auth) = {action: "locks.acquire", resource: "locks/{name}"};
  }
  // List locks.
  rpc ListLocks(ListLocksRequest) returns (ListLocksResponse) {
    option (google.api.http) = {get: "/v1/locks"};
    option (concord.v1.auth) = {action: "locks.list", resource: "locks"};
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  // Watch locks.
  rpc WatchLocks(WatchLocksRequest) returns (stream WatchLocksResponse) {
    option (google.api.http) = {get: "/v1/locks:watch"};
    option (concord.v1.auth) = {public: true};
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  // Put a label.
  rpc PutLabel(PutLabelRequest) returns (PutLabelResponse) {
    option (google.api.http) = {put: "/v1/locks/{name}/label" body: "label"};
    option (concord.v1.auth) = {action: "locks.label", resource: "locks/{name}"};
    option idempotency_level = IDEMPOTENT;
  }
}

// Request.
message AcquireLockRequest {
  // Name.
  string name = 1 [(google.api.field_behavior) = REQUIRED];
  // TTL.
  google.protobuf.Duration ttl = 2;
  // Expected state.
  ExpectedStreamState expected = 3;
}
// Response.
message AcquireLockResponse {
  // The lock.
  Lock lock = 1;
}
// Request.
message ListLocksRequest {
  // Page size.
  int32 page_size = 1;
  // Page token.
  string page_token = 2;
  // Filter.
  LockFilter filter = 3;
  // Names.
  repeated string names = 4;
}
// Response.
message ListLocksResponse {
  // Locks.
  repeated Lock locks = 1;
  // Next page.
  string next_page_token = 2;
}
// Request.
message WatchLocksRequest {
  // Prefix.
  string prefix = 1;
}
// Response.
message WatchLocksResponse {
  // The lock.
  Lock lock = 1;
}
// Request.
message PutLabelRequest {
  // Name.
  string name = 1;
  // Label.
  string label = 2;
  // Force.
  bool force = 3;
}
// Response.
message PutLabelResponse {
  // The lock.
  Lock lock = 1;
}
"""
)

BROKEN = (
    PREAMBLE
    + """
// Broken things.
service BrokenService {
  // No binding at all.
  rpc Unbound(UnboundRequest) returns (UnboundResponse) {
    option (concord.v1.auth) = {action: "x.unbound"};
  }
  // Path parameter that is not a field.
  rpc BadPath(BadPathRequest) returns (BadPathResponse) {
    option (google.api.http) = {get: "/v1/things/{thing_id}"};
    option (concord.v1.auth) = {action: "x.bad"};
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  // Paginated without next_page_token.
  rpc ListThings(ListThingsRequest) returns (ListThingsResponse) {
    option (google.api.http) = {get: "/v1/things"};
    option (concord.v1.auth) = {action: "x.list"};
    option idempotency_level = NO_SIDE_EFFECTS;
  }
}
// Request.
message UnboundRequest {}
// Response.
message UnboundResponse {}
// Request.
message BadPathRequest {
  // The name.
  string name = 1;
}
// Response.
message BadPathResponse {}
// Request.
message ListThingsRequest {
  // Size.
  int32 page_size = 1;
  // Token.
  string page_token = 2;
}
// Response.
message ListThingsResponse {
  // Things.
  repeated string things = 1;
}
message Undocumented {
  string nothing = 1 [(concord.v1.rules) = {minimum: 3}];
}
"""
)
