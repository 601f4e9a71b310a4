"""Request headers as every transport hands them to the dispatcher."""

from __future__ import annotations

from collections.abc import Iterable


def merge_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased names; a repeated header's values joined by ", " (RFC 9110, section 5.3).

    Joining, not "last one wins", lets authentication see that a credential came twice.
    """
    merged: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def merge_raw_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """`merge_headers` of an ASGI scope's raw header pairs (latin-1 bytes, as HTTP carries)."""
    return merge_headers((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw)


def client_address(host: str | None) -> str:
    """The caller's network address for per-address limits ("unknown" when not known)."""
    return host or "unknown"


def grpc_peer_address(peer: str) -> str:
    """The host of a gRPC peer string (`ipv4:1.2.3.4:5`, `ipv6:[::1]:5`, `unix:/path`)."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6" and rest.startswith("["):
        return client_address(rest[1:].partition("]")[0])
    if kind == "ipv4":
        return client_address(rest.rpartition(":")[0])
    return client_address(rest or kind)
