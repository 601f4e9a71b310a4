"""Per-call facts shared by every transport: who calls, the request id, the idempotency key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concord_server.api.faults import StreamEnd


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its subject, how it authenticated, and its scopes."""

    subject: str
    credential_type: str  # "API_KEY" or "JWT"
    scopes: tuple[str, ...] = ("*",)
    key_id: str = ""
    expires_at: datetime | None = None
    is_bootstrap_admin: bool = False


ANONYMOUS = Principal(subject="", credential_type="", scopes=())


@dataclass
class CallContext:
    """Everything a handler may need besides the request message."""

    request_id: str
    principal: Principal = ANONYMOUS
    idempotency_key: str = ""
    transport: str = "rest"  # "rest", "grpc", "ws" or "graphql"
    headers: dict[str, str] = field(default_factory=dict)
    trace_id: str = ""  # W3C trace id (32 hex digits), from `traceparent` or made here
    traceparent: str = ""  # the `traceparent` this server answers with (its own span)
    span_id: str = ""  # this server's span id (16 hex digits), as the access log writes it
    span: Any = None  # the call's OpenTelemetry span while tracing is on (telemetry/spans.py)
    replayed: bool = False  # set when the answer is an idempotent replay
    client_address: str = "unknown"  # the caller's network address (failed-auth limits)
    stream_end: StreamEnd | None = None  # test hook: how an SSE stream ends (cut, drained)
