"""SSE resume: the event ids of the subscriptions, and `Last-Event-ID`, which restarts one."""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf.message import Message

from concord_server.errors import ConcordError, ErrorCode

HEADER = "last-event-id"
# RPC → (the request field a resume sets, the event field the SSE id carries).
_RESUMABLE = {
    "SubscribeToStream": ("from_revision", "revision"),
    "SubscribeToAll": ("from_position", "position"),
}
_MAX_DIGITS = 19


class InjectedCut(Exception):
    """Breaks an SSE response on purpose (the `cut=` test fault); the logs leave it out."""

    log_quietly = True


def event_id(rpc_name: str, message: Message) -> str | None:
    """The SSE id of one message of a resumable stream: its event's revision or position."""
    fields = _RESUMABLE.get(rpc_name)
    if fields is None or not message.HasField("event"):
        return None
    return str(getattr(message.event, fields[1]))  # type: ignore[attr-defined]


def apply_last_event_id(rpc_name: str, headers: Mapping[str, str], message: Message) -> None:
    """Starts a resumable stream after the `Last-Event-ID` it carries, over its own start."""
    text = headers.get(HEADER)
    fields = _RESUMABLE.get(rpc_name)
    if text is None or fields is None:
        return
    setattr(message, fields[0], _last_seen(text) + 1)


def _last_seen(text: str) -> int:
    """The id in a `Last-Event-ID` header: an integer from -1 (nothing seen yet) upwards."""
    body = text[1:] if text.startswith("-") else text
    if not body.isascii() or not body.isdigit() or len(body) > _MAX_DIGITS:
        raise _bad(text)
    value = int(text)
    if value < -1 or value >= 2**63 - 1:
        raise _bad(text)
    return value


def _bad(text: str) -> ConcordError:
    return ConcordError(
        ErrorCode.INVALID_ARGUMENT,
        f"Last-Event-ID must be an id this stream sent (an integer from -1), not {text[:40]!r}",
    )
