# frozen_string_literal: true

# A user's Ruby program on stubs that stock protoc and grpc_ruby_plugin generate from spec/proto:
# it acquires a lock over gRPC, then reads the typed concord.v1.Error from a refused call.
require 'securerandom'
require 'grpc'
require 'google/protobuf/well_known_types'
require 'concord/v1/common_pb'
require 'concord/v1/locks_services_pb'
require 'google/rpc/status_pb'

def fail!(what)
  warn "FAILED: #{what}"
  exit 1
end

def acquire(stub, name, owner)
  request = Concord::V1::AcquireLockRequest.new(
    name: name, owner: owner, ttl: Google::Protobuf::Duration.new(seconds: 30)
  )
  stub.acquire_lock(request, metadata: { 'x-api-key' => ENV.fetch('CONCORD_API_KEY') },
                             deadline: Time.now + 60)
end

# The concord.v1.Error packed in the status details of a refused call.
def error_detail(bad_status)
  details = Google::Rpc::Status.decode(bad_status.metadata.fetch('grpc-status-details-bin'))
  packed = details.details.find { |any| any.type_url.end_with?('/concord.v1.Error') }
  fail!('no concord.v1.Error in the status details') unless packed
  packed.unpack(Concord::V1::Error)
end

stub = Concord::V1::LockService::Stub.new(ENV.fetch('CONCORD_GRPC_TARGET'), :this_channel_is_insecure)
name = "tp-ruby-#{SecureRandom.hex(6)}"
held = acquire(stub, name, 'alice')
fail!('acquire: no fencing token') unless held.lock.fencing_token >= 1
begin
  acquire(stub, name, 'bob')
  fail!('a second owner acquired a held lock')
rescue GRPC::Aborted => e
  error = error_detail(e)
  fail!("second owner: #{error.code}") unless error.code == :ERROR_CODE_LOCK_CONFLICT
  puts "grpc: acquired #{name} (token #{held.lock.fencing_token}), then ABORTED with " \
       "concord.v1.Error #{error.code} (request #{error.request_id})"
end
