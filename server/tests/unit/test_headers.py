"""Headers as transports hand them over: lower-cased names, repeated values joined."""

from __future__ import annotations

import pytest

from concord_server.api.headers import grpc_peer_address, merge_headers


def test_repeated_headers_are_joined_not_overwritten() -> None:
    merged = merge_headers([("X-API-Key", "a"), ("x-api-key", "b"), ("Accept", "*/*")])
    assert merged == {"x-api-key": "a, b", "accept": "*/*"}


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:127.0.0.1:5123", "127.0.0.1"),
        ("ipv6:[::1]:5123", "::1"),
        ("unix:/tmp/socket", "/tmp/socket"),
        ("", "unknown"),
    ],
)
def test_grpc_peer_addresses(peer: str, address: str) -> None:
    assert grpc_peer_address(peer) == address
