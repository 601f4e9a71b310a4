"""The opt-in gRPC transport: `GrpcConcord` and `AsyncGrpcConcord` (`pip install
concord-sdk[grpc]`).

They are `Concord` and `AsyncConcord` whose calls go over gRPC to the server's gRPC port
instead of HTTP/JSON: the same resources, models, typed errors, helpers and per-call options.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

try:
    import grpc
    import grpc.aio
except ImportError as exc:  # the REST-only install
    raise ImportError(
        "concord.grpc needs grpcio and protobuf: pip install 'concord-sdk[grpc]'"
    ) from exc

from concord._client import AsyncConcord, Concord
from concord._core.endpoint import Endpoint
from concord._core.grpc_async import AsyncGrpcTransport
from concord._core.grpc_base import channel_credentials, channel_options, resolve_target
from concord._core.grpc_sync import SyncGrpcTransport
from concord._core.http import BaseCore, Parse
from concord._core.options import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    NotGiven,
    RequestOptions,
    Timeout,
)
from concord._core.sse import AsyncStream, Stream
from concord._core.tls import ClientCert, FilePath
from concord._core.ws import StreamTransport

__all__ = ["AsyncGrpcConcord", "GrpcConcord"]

T = TypeVar("T")
SelfT = TypeVar("SelfT", bound="GrpcConcord")
AsyncSelfT = TypeVar("AsyncSelfT", bound="AsyncGrpcConcord")


def _uses_tls(core: BaseCore, tls: bool | None) -> bool:
    """TLS when asked, else when a CA bundle or client certificate is configured."""
    return core.tls is not None if tls is None else tls


def _copy_settings(core: BaseCore, base_url: str | None, **changes: Any) -> dict[str, Any]:
    """The constructor arguments of a copy with some settings changed (no base URL here)."""
    if base_url:
        raise ValueError("a gRPC client has no base_url: make a client for the other target")
    settings = core._settings(base_url=None, stream_transport=None, **changes)
    for http_only in ("base_url", "stream_transport"):
        settings.pop(http_only)
    return settings


class GrpcConcord(Concord):
    """The Concord client over gRPC, to `target` (`host:port`), else `CONCORD_GRPC_TARGET`,
    else 127.0.0.1:9090.

    Credentials, `timeout` (the deadline of each attempt), `max_retries` (the REST rules: no
    answer, 408/429/5xx codes, `retry-after`), `extra_headers` (sent as metadata), `ca_bundle`
    and `client_cert` mean what they mean for `Concord`. The connection uses TLS when `tls`
    is true, or when it is None and a CA bundle or client certificate is configured; else it
    is plaintext. `channel=` sends the calls over a `grpc.Channel` of yours instead (closing
    the client leaves it open). Server streams are gRPC streams.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        api_key: str | None = None,
        bearer_token: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        extra_headers: Mapping[str, str] | None = None,
        log_level: str | None = None,
        ca_bundle: FilePath | None = None,
        client_cert: ClientCert | None = None,
        tls: bool | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            bearer_token=bearer_token,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            log_level=log_level,
            ca_bundle=ca_bundle,
            client_cert=client_cert,
        )
        self.grpc_target = resolve_target(target)
        self.use_tls = _uses_tls(self, tls)
        own = channel is None
        self._grpc = SyncGrpcTransport(channel or self._open_channel(), owned=own)

    def _open_channel(self) -> grpc.Channel:
        options = channel_options(self.user_agent)
        if self.use_tls:
            creds = channel_credentials(self.tls)
            return grpc.secure_channel(self.grpc_target, creds, options=options)
        return grpc.insecure_channel(self.grpc_target, options=options)

    def request(
        self, endpoint: Endpoint, data: Mapping[str, Any], parse: Parse[T], options: RequestOptions
    ) -> T:
        """One unary call over gRPC with retries; the parsed answer or a typed error."""
        return self._grpc.request(self, endpoint, data, parse, options)

    def stream(
        self, endpoint: Endpoint, data: Mapping[str, Any], parse: Parse[T], options: RequestOptions
    ) -> Stream[T]:
        """A gRPC server stream, open once the server accepted it (a refusal raises here)."""
        return self._grpc.stream(self, endpoint, data, parse, options)

    def with_options(
        self: SelfT,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        bearer_token: str | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        stream_transport: StreamTransport | None = None,
    ) -> SelfT:
        """A copy with the given settings changed, sharing this client's channel (close the
        original); `stream_transport` has no meaning over gRPC."""
        del stream_transport
        settings = _copy_settings(
            self,
            base_url,
            api_key=api_key,
            bearer_token=bearer_token,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
        channel = self._grpc.channel
        return type(self)(self.grpc_target, tls=self.use_tls, channel=channel, **settings)

    def close(self) -> None:
        """Close the channel (unless one was passed in)."""
        self._grpc.close()
        super().close()


class AsyncGrpcConcord(AsyncConcord):
    """The asyncio Concord client over gRPC (`grpc.aio`): see `GrpcConcord`. The channel opens
    at the first call, inside the running event loop; cancelling a task cancels its call."""

    def __init__(
        self,
        target: str | None = None,
        *,
        api_key: str | None = None,
        bearer_token: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        extra_headers: Mapping[str, str] | None = None,
        log_level: str | None = None,
        ca_bundle: FilePath | None = None,
        client_cert: ClientCert | None = None,
        tls: bool | None = None,
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            bearer_token=bearer_token,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            log_level=log_level,
            ca_bundle=ca_bundle,
            client_cert=client_cert,
        )
        self.grpc_target = resolve_target(target)
        self.use_tls = _uses_tls(self, tls)
        self._grpc = AsyncGrpcTransport(self._open_channel, channel)

    def _open_channel(self) -> grpc.aio.Channel:
        options = channel_options(self.user_agent)
        if self.use_tls:
            creds = channel_credentials(self.tls)
            return grpc.aio.secure_channel(self.grpc_target, creds, options=options)
        return grpc.aio.insecure_channel(self.grpc_target, options=options)

    async def request(
        self, endpoint: Endpoint, data: Mapping[str, Any], parse: Parse[T], options: RequestOptions
    ) -> T:
        """One unary call over gRPC with retries; the parsed answer or a typed error."""
        return await self._grpc.request(self, endpoint, data, parse, options)

    async def stream(
        self, endpoint: Endpoint, data: Mapping[str, Any], parse: Parse[T], options: RequestOptions
    ) -> AsyncStream[T]:
        """A gRPC server stream, open once the server accepted it (a refusal raises here)."""
        return await self._grpc.stream(self, endpoint, data, parse, options)

    def with_options(
        self: AsyncSelfT,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        bearer_token: str | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        stream_transport: StreamTransport | None = None,
    ) -> AsyncSelfT:
        """A copy with the given settings changed, sharing this client's channel (close the
        original); `stream_transport` has no meaning over gRPC."""
        del stream_transport
        settings = _copy_settings(
            self,
            base_url,
            api_key=api_key,
            bearer_token=bearer_token,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
        channel = self._grpc.channel
        return type(self)(self.grpc_target, tls=self.use_tls, channel=channel, **settings)

    async def close(self) -> None:
        """Close the channel (unless one was passed in)."""
        await self._grpc.close()
        await super().close()
