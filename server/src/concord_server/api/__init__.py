"""Transports (REST, gRPC, WebSocket) and the handlers that map the contract to the domain."""
