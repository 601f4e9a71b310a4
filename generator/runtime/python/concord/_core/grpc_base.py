"""The I/O-free half of the gRPC transport: methods by name, channels, metadata, deadlines and
retry decisions, shared by the sync and the asyncio transport."""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import grpc
import httpx
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from concord._core import retries
from concord._core.errors_base import APIConnectionError, ConcordAPIError, ConcordError
from concord._core.grpc_codec import to_contract
from concord._core.grpc_errors import headers_of
from concord._core.http import BaseCore, Parse
from concord._core.logging import logger, redact_headers
from concord._core.options import NotGiven, RequestOptions, to_httpx_timeout
from concord._core.raw import RAW_MODE, RawResponse
from concord._core.tls import TlsSettings
from concord._core.tracecontext import trace_headers

ENV_GRPC_TARGET = "CONCORD_GRPC_TARGET"
DEFAULT_GRPC_TARGET = "127.0.0.1:9090"
STUBS_PACKAGE = "concord._grpc_gen.concord.v1"
# HTTP headers that mean nothing (or something else) to gRPC: never sent as metadata.
HTTP_ONLY = frozenset(
    {"user-agent", "content-type", "accept", "connection", "te", "host", "content-length"}
)
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----\r?\n?", re.DOTALL)
Metadata = tuple[tuple[str, str], ...]
T = TypeVar("T")


@dataclass(frozen=True)
class GrpcMethod:
    """One RPC of the contract: its path and its protobuf request/response classes."""

    path: str
    request: Callable[[], Message]
    response: type[Message]


def resolve_target(target: str | None) -> str:
    """`target`, else `CONCORD_GRPC_TARGET`, else `127.0.0.1:9090`."""
    return target or os.environ.get(ENV_GRPC_TARGET) or DEFAULT_GRPC_TARGET


@functools.cache
def _load_stubs() -> None:
    """Import every protobuf module of the contract (they register in the default pool)."""
    package = importlib.import_module(STUBS_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.endswith("_pb2"):
            importlib.import_module(f"{STUBS_PACKAGE}.{module.name}")


@functools.cache
def method_of(service: str, rpc: str) -> GrpcMethod:
    """The RPC `rpc` of `service` (a full name); LookupError when the contract lacks it."""
    _load_stubs()
    try:
        desc = descriptor_pool.Default().FindServiceByName(service).methods_by_name[rpc]
    except KeyError as exc:
        raise LookupError(f"the contract has no RPC {service}/{rpc}") from exc
    request = message_factory.GetMessageClass(desc.input_type)
    response = message_factory.GetMessageClass(desc.output_type)
    return GrpcMethod(f"/{service}/{rpc}", request, response)


def channel_credentials(tls: TlsSettings | None) -> grpc.ChannelCredentials:
    """TLS credentials: `tls`'s CA bundle (else the system's) and client certificate."""
    root = _read(tls.ca_bundle, "CA bundle") if tls and tls.ca_bundle else None
    key = chain = None
    if tls and tls.cert_file:
        chain, key = _certificate(tls.cert_file, tls.key_file)
    return grpc.ssl_channel_credentials(root, key, chain)


def _certificate(cert_file: str, key_file: str | None) -> tuple[bytes, bytes]:
    """(certificate chain, private key) PEM: from two files, or split from one."""
    text = _read(cert_file, "client certificate").decode("ascii", "replace")
    blocks = [(m[1], m[0]) for m in _PEM_BLOCK.finditer(text)]
    chain = "".join(b for kind, b in blocks if kind == "CERTIFICATE")
    if key_file:
        key = _read(key_file, "client key")
    else:
        key = "".join(b for kind, b in blocks if kind.endswith("PRIVATE KEY")).encode()
    if not chain or not key:
        raise ValueError(f"cannot use the client certificate {cert_file}: no certificate or key")
    return chain.encode(), key


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise ValueError(f"cannot use the {what} {path}: {exc}") from exc


def channel_options(user_agent: str) -> list[tuple[str, Any]]:
    """Options of the channels the SDK opens: its user agent."""
    return [("grpc.primary_user_agent", user_agent)]


def metadata(core: BaseCore, options: RequestOptions, key: str | None) -> Metadata:
    """The call's metadata: credential, idempotency key, trace context, extra headers (the
    client's, then the call's), keys lower-case; HTTP-only headers are left out."""
    merged: dict[str, str] = {}
    sources = [core.credentials.headers(), {"idempotency-key": key} if key else {}]
    sources += [trace_headers(), core.extra_headers, dict(options.extra_headers or {})]
    for source in sources:
        merged.update((k.lower(), v) for k, v in source.items())
    return tuple((k, v) for k, v in merged.items() if k not in HTTP_ONLY)


def deadline(core: BaseCore, options: RequestOptions, stream: bool) -> float | None:
    """Seconds the call may take (the read timeout): a stream's only when the call set one."""
    if not isinstance(options.timeout, NotGiven):
        return to_httpx_timeout(options.timeout).read
    return None if stream else core.timeout.read


def open_timeout(core: BaseCore, options: RequestOptions) -> float | None:
    """Seconds a stream may take to be accepted: the call's timeout, else the client's connect
    timeout (as a REST stream's opening)."""
    if not isinstance(options.timeout, NotGiven):
        return to_httpx_timeout(options.timeout).connect
    return core.timeout.connect


def retry_delay(
    error: ConcordError,
    code: grpc.StatusCode,
    headers: httpx.Headers,
    retryable: bool,
    attempt: int,
    limit: int,
) -> float | None:
    """Seconds to wait before trying again, or None when `error` is final: the REST rules
    (connection errors and timeouts, 408, 429, 5xx; `Retry-After`), never a cancelled call."""
    if not retryable or attempt >= limit or code == grpc.StatusCode.CANCELLED:
        return None
    if isinstance(error, ConcordAPIError):
        if not retries.is_retryable_status(error.status):
            return None
        return retries.retry_delay(attempt, headers)
    if isinstance(error, APIConnectionError):
        return retries.backoff(attempt)
    return None


def log_call(method: GrpcMethod, md: Metadata, attempt: int) -> None:
    """Debug log of one attempt, secrets redacted."""
    logger.debug("gRPC %s attempt=%d metadata=%s", method.path, attempt + 1, redact_headers(md))


def result(parse: Parse[T], response: Message, initial: Any, trailing: Any) -> T:
    """The parsed answer, or a RawResponse of it (status 200, the call's metadata as headers)
    inside `with_raw_response`."""
    parsed = parse(to_contract(response))
    if RAW_MODE.get():
        return cast(T, RawResponse(200, headers_of(initial, trailing), parsed, None))
    return parsed
