"""Idempotent replay: the first answer of a keyed non-idempotent call, given again on retries.

A unary RPC whose `idempotency_level` is unknown, called with an `Idempotency-Key`, runs once per
(principal, RPC, key). Its answer (the response, or a non-retryable error) is kept for 24 hours
with a fingerprint of the request; a repeat with the same request gets that answer again, marked
replayed; a repeat with another request is INVALID_ARGUMENT (`idempotency_key_reused`). While the
first call runs, repeats in this process wait for it; repeats on another instance get a
retryable UNAVAILABLE (`idempotency_key_in_progress`, Retry-After: 1).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from google.protobuf.message import Message

from concord_server.api.rpcs import Rpc
from concord_server.catalogue import rule_of
from concord_server.context import CallContext
from concord_server.errors import ConcordError, ErrorCode, invalid_argument
from concord_server.ports.idempotency import IdempotencyRecord, IdempotencyStore
from concord_server.telemetry.metrics import IDEMPOTENT_REPLAYS

log = logging.getLogger("concord.idempotency")

ANSWER_TTL = timedelta(hours=24)
BASE_LEASE = timedelta(seconds=30)
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"[\x21-\x7e]{1,200}")
_UNSTORED = {ErrorCode.UNAUTHENTICATED, ErrorCode.PERMISSION_DENIED}
_RESPONSE = b"R"
_ERROR = b"E"

Invoke = Callable[[], Awaitable[Message]]


def applies(rpc: Rpc, ctx: CallContext) -> bool:
    """Whether a call is replayed: unary, not idempotent by itself, and carrying a key."""
    return not rpc.idempotent and not rpc.server_streaming and bool(ctx.idempotency_key)


def check_key(key: str) -> None:
    """INVALID_ARGUMENT unless the key is 1-200 visible ASCII characters."""
    if not _KEY.fullmatch(key):
        raise invalid_argument(
            "Idempotency-Key must be 1-200 visible ASCII characters",
            "Idempotency-Key",
            reason="invalid_idempotency_key",
        )


def scope_of(subject: str, rpc: Rpc, key: str) -> str:
    """The store key of a call: principal subject, RPC and idempotency key, unambiguously."""
    return json.dumps([subject, rpc.grpc_path, key], separators=(",", ":"))


def fingerprint_of(request: Message) -> str:
    """The SHA-256 of the request's deterministic serialisation (the same for REST and gRPC)."""
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


def lease_for(request: Message) -> timedelta:
    """How long an in-progress marker lives: 30 s plus the request's `wait_timeout`, if any."""
    wait: Any = getattr(request, "wait_timeout", None)
    extra = wait.ToTimedelta() if wait is not None and hasattr(wait, "ToTimedelta") else None
    return BASE_LEASE + (extra or timedelta(0))


def storable(err: ConcordError) -> bool:
    """Whether an error is the call's answer (not retryable, not an admission failure)."""
    return err.code not in _UNSTORED and not rule_of(err.code).retryable


def encode_response(response: Message) -> bytes:
    """The stored form of a response."""
    return _RESPONSE + response.SerializeToString(deterministic=True)


def encode_error(err: ConcordError) -> bytes:
    """The stored form of an error."""
    body = {"code": err.code.value, "message": err.message, "details": err.details}
    body["headers"] = err.headers
    return _ERROR + json.dumps(body, separators=(",", ":"), default=str).encode()


def decode_answer(rpc: Rpc, answer: bytes) -> Message | ConcordError:
    """A stored answer as the response message, or as the error (marked replayed)."""
    if answer[:1] == _RESPONSE:
        return rpc.response_cls.FromString(answer[1:])
    body = json.loads(answer[1:])
    headers = {**body.get("headers", {}), REPLAYED_HEADER: "true"}
    return ConcordError(ErrorCode(body["code"]), body["message"], body["details"], headers=headers)


class Replayer:
    """Runs keyed calls at most once per key and answers repeats from the store."""

    def __init__(self, store: IdempotencyStore, ttl: timedelta = ANSWER_TTL) -> None:
        self._store = store
        self._ttl = ttl
        self._running: dict[str, asyncio.Event] = {}

    async def run(self, rpc: Rpc, request: Message, ctx: CallContext, invoke: Invoke) -> Message:
        """The call's answer: from the store for a repeat, else from `invoke` (then stored)."""
        if not applies(rpc, ctx):
            return await invoke()
        check_key(ctx.idempotency_key)
        key = scope_of(ctx.principal.subject, rpc, ctx.idempotency_key)
        fingerprint = fingerprint_of(request)
        while (running := self._running.get(key)) is not None:
            await running.wait()  # the first call runs in this process: wait for its answer
        self._running[key] = done = asyncio.Event()
        try:
            owner = uuid.uuid4().hex
            found = await self._store.begin(key, fingerprint, owner, lease_for(request))
            if found is None:
                return await self._first(key, fingerprint, owner, invoke)
        finally:
            del self._running[key]
            done.set()
        return _replay(rpc, ctx, found, fingerprint)

    async def _first(self, key: str, fingerprint: str, owner: str, invoke: Invoke) -> Message:
        """Runs the call and stores its answer, or frees the key for a retry."""
        try:
            response = await invoke()
        except ConcordError as err:
            if storable(err):
                await self._save(key, fingerprint, encode_error(err))
            else:
                await self._release(key, owner)
            raise
        except BaseException:
            await self._release(key, owner)
            raise
        await self._save(key, fingerprint, encode_response(response))
        return response

    async def _save(self, key: str, fingerprint: str, answer: bytes) -> None:
        try:
            await self._store.complete(key, fingerprint, answer, self._ttl)
        except Exception:  # the call happened; its answer stands even when it cannot be kept
            log.warning("could not store the answer of idempotency key %s", key, exc_info=True)

    async def _release(self, key: str, owner: str) -> None:
        try:
            await self._store.release(key, owner)
        except Exception:  # the marker's lease frees the key anyway
            log.warning("could not release idempotency key %s", key, exc_info=True)


def _replay(rpc: Rpc, ctx: CallContext, found: IdempotencyRecord, fingerprint: str) -> Message:
    """The stored answer of a repeat; INVALID_ARGUMENT or UNAVAILABLE when there is none."""
    if found.fingerprint != fingerprint:
        raise ConcordError(
            ErrorCode.INVALID_ARGUMENT,
            "Idempotency-Key was already used with a different request",
            {"reason": "idempotency_key_reused"},
        )
    if found.answer is None:
        raise ConcordError(
            ErrorCode.UNAVAILABLE,
            "a call with this Idempotency-Key is still in progress; retry",
            {"reason": "idempotency_key_in_progress"},
            headers={"Retry-After": "1"},
        )
    ctx.replayed = True
    IDEMPOTENT_REPLAYS.inc()
    answer = decode_answer(rpc, found.answer)
    if isinstance(answer, ConcordError):
        raise answer
    return answer
