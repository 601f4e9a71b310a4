"""gRPC transport (grpc.aio) over the dispatcher, with health and reflection."""
