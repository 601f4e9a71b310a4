"""Concord's code generator: proto contract -> IR -> OpenAPI, gRPC stubs and SDKs."""

__version__ = "0.1.0"
GENERATOR_NAME = "concord-gen"
