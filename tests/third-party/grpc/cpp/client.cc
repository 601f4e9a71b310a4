// A user's C++ program on stubs that stock protoc and grpc_cpp_plugin generate from spec/proto:
// it acquires a lock over gRPC, then reads the typed concord.v1.Error from a refused call.
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <string>

#include "concord/v1/common.pb.h"
#include "concord/v1/locks.grpc.pb.h"
#include "google/rpc/status.pb.h"

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// Fails the program with a message on stderr.
[[noreturn]] void Fail(const std::string& what) {
  std::cerr << "FAILED: " << what << std::endl;
  std::exit(1);
}

grpc::Status Acquire(concord::v1::LockService::Stub& stub, const std::string& name,
                     const std::string& owner, concord::v1::AcquireLockResponse* response) {
  grpc::ClientContext context;
  context.AddMetadata("x-api-key", Env("CONCORD_API_KEY"));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  concord::v1::AcquireLockRequest request;
  request.set_name(name);
  request.set_owner(owner);
  request.mutable_ttl()->set_seconds(30);
  return stub.AcquireLock(&context, request, response);
}

// The concord.v1.Error packed in the status details of a refused call.
concord::v1::Error ErrorDetail(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) Fail("status details do not parse");
  for (const auto& any : details.details()) {
    concord::v1::Error error;
    if (any.UnpackTo(&error)) return error;
  }
  Fail("no concord.v1.Error in the status details");
}

}  // namespace

int main() {
  auto channel = grpc::CreateChannel(Env("CONCORD_GRPC_TARGET"), grpc::InsecureChannelCredentials());
  auto stub = concord::v1::LockService::NewStub(channel);
  const std::string name = "tp-cpp-" + std::to_string(std::random_device{}());

  concord::v1::AcquireLockResponse held;
  grpc::Status status = Acquire(*stub, name, "alice", &held);
  if (!status.ok()) Fail("acquire: " + status.error_message());
  if (held.lock().fencing_token() < 1) Fail("acquire: no fencing token");

  concord::v1::AcquireLockResponse refused;
  status = Acquire(*stub, name, "bob", &refused);
  if (status.error_code() != grpc::StatusCode::ABORTED) Fail("second owner: not ABORTED");
  const concord::v1::Error error = ErrorDetail(status);
  if (error.code() != concord::v1::ERROR_CODE_LOCK_CONFLICT) {
    Fail("second owner: " + concord::v1::ErrorCode_Name(error.code()));
  }
  std::cout << "grpc: acquired " << name << " (token " << held.lock().fencing_token()
            << "), then ABORTED with concord.v1.Error " << concord::v1::ErrorCode_Name(error.code())
            << " (request " << error.request_id() << ")" << std::endl;
  return 0;
}
