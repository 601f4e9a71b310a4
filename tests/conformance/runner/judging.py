"""Verdicts on adapter replies: one call against its expectation, a concurrent group against
its group expectation, and elapsed-time bounds."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.conformance.runner.matchers import MISSING, Resolve, match
from tests.conformance.runner.model import (
    OUTCOME_CLIENT_ERROR,
    OUTCOME_ERROR,
    OUTCOME_OK,
    Elapsed,
    GroupExpect,
    Raw,
)

_TRANSCRIPT_LIMIT = 600
# The adapter's reply outcome that each expectation outcome wants.
WIRE_OUTCOME = {
    OUTCOME_OK: "ok",
    OUTCOME_ERROR: "api_error",
    OUTCOME_CLIENT_ERROR: "client_error",
}


@dataclass
class Judgement:
    """The verdict of one step: passed, failed or an adapter error, with a message."""

    raw: Raw
    message: str = ""
    captures: dict[str, Any] = field(default_factory=dict)


def short(value: Any, limit: int = _TRANSCRIPT_LIMIT) -> str:
    """A value as JSON text, cut to `limit` characters."""
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge(
    outcome_wanted: str, expected: Any, reply: dict[str, Any], resolve: Resolve | None = None
) -> Judgement:
    """Compares an adapter's reply with an expectation (ok, error or client_error); `resolve`
    substitutes the expectation's `${…}` as matching reaches them."""
    wrong = wrong_outcome(outcome_wanted, expected, reply)
    if wrong is not None:
        return wrong
    outcome = reply["outcome"]
    actual = reply.get("result" if outcome == "ok" else "error")
    if expected is None:
        return Judgement(Raw.PASSED)
    result = match(expected, actual, "result" if outcome == "ok" else "error", resolve)
    if not result.ok:
        return Judgement(Raw.FAILED, "; ".join(result.errors[:5]), result.captures)
    return Judgement(Raw.PASSED, captures=result.captures)


def wrong_outcome(wanted: str, expected: Any, reply: dict[str, Any]) -> Judgement | None:
    """The verdict when the reply's outcome alone decides it (adapter error, ok vs error)."""
    outcome = reply.get("outcome")
    if outcome == "adapter_error":
        return Judgement(Raw.ERROR, f"adapter_error: {reply.get('message', '')}")
    if outcome not in WIRE_OUTCOME.values():
        return Judgement(Raw.ERROR, f"malformed reply (outcome {outcome!r}): {short(reply)}")
    if outcome == WIRE_OUTCOME[wanted]:
        return None
    got = short(reply.get("result" if outcome == "ok" else "error"))
    if wanted == OUTCOME_OK:
        return Judgement(Raw.FAILED, f"expected success, got {outcome} {got}")
    label = "code" if wanted == OUTCOME_ERROR else "kind"
    want = (expected or {}).get(label)
    return Judgement(Raw.FAILED, f"expected {wanted} {want}, got {outcome} {got}")


def check_elapsed(bounds: Elapsed | None, seconds: float) -> str:
    """Why a call's duration breaks the bounds; empty when it does not."""
    if bounds is None:
        return ""
    took = seconds * 1000
    if took < bounds.min_ms:
        return f"took {took:.0f} ms, expected at least {bounds.min_ms} ms"
    if bounds.max_ms is not None and took > bounds.max_ms:
        return f"took {took:.0f} ms, expected at most {bounds.max_ms} ms"
    return ""


def _gist(reply: Mapping[str, Any]) -> str:
    """`ok`, `api_error LOCK_CONFLICT`, `client_error timeout`: a reply in a word or two."""
    error = reply.get("error") or {}
    detail = error.get("code") or error.get("kind") or ""
    return f"{reply.get('outcome')} {detail}".strip()


def judge_group(
    expect: GroupExpect,
    replies: Sequence[dict[str, Any]],
    labels: Sequence[str],
    resolve: Resolve | None = None,
) -> Judgement:
    """The verdict on a concurrent group: every reply is judged, then the count of successes
    and the distinct values; captures of the successes are visible to the failures' match."""
    for label, reply in zip(labels, replies, strict=True):
        if reply.get("outcome") not in WIRE_OUTCOME.values():
            broken = wrong_outcome(OUTCOME_OK, None, reply)
            assert broken is not None
            return Judgement(broken.raw, f"{label}: {broken.message}")
    oks = [i for i, r in enumerate(replies) if r.get("outcome") == "ok"]
    problems = _count_problems(expect.succeeded, len(oks), len(replies), replies, labels)
    captures: dict[str, Any] = {}

    def seeing(text: str, seen: Mapping[str, Any]) -> Any:
        assert resolve is not None
        return resolve(text, {**captures, **seen})

    scoped = seeing if resolve is not None else None
    failed = [i for i in range(len(replies)) if i not in oks]
    for i in oks + failed:  # successes first: the failures' expectation may use their captures
        reply = replies[i]
        verdict = _judge_member(expect, reply, scoped)
        captures.update(verdict.captures)
        if verdict.raw is not Raw.PASSED:
            problems.append(f"{labels[i]}: {verdict.message}")
    problems += _repeats(expect.distinct, [replies[i].get("result") for i in oks])
    if problems:
        return Judgement(Raw.FAILED, "; ".join(problems[:5]), captures)
    return Judgement(Raw.PASSED, captures=captures)


def _judge_member(expect: GroupExpect, reply: dict[str, Any], resolve: Resolve | None) -> Judgement:
    """One call of a group: a success against `result`, a failure against `error` or
    `client_error` (any failure when neither is given)."""
    if reply.get("outcome") == "ok":
        return judge(OUTCOME_OK, expect.result, reply, resolve)
    if expect.error is not None:
        return judge(OUTCOME_ERROR, expect.error, reply, resolve)
    if expect.client_error is not None:
        return judge(OUTCOME_CLIENT_ERROR, expect.client_error, reply, resolve)
    return Judgement(Raw.PASSED)


def _count_problems(
    wanted: Any,
    count: int,
    size: int,
    replies: Sequence[dict[str, Any]],
    labels: Sequence[str],
) -> list[str]:
    """Whether the number of successes is as expected (a count, `all` or a matcher)."""
    if isinstance(wanted, dict):
        ok = match(wanted, count, "succeeded").ok
    else:
        ok = count == (size if wanted == "all" else wanted)
    if ok:
        return []
    seen = ", ".join(f"{label} {_gist(r)}" for label, r in zip(labels, replies, strict=True))
    return [f"expected {wanted} of {size} calls to succeed, {count} did ({seen})"]


def _repeats(paths: Sequence[str], results: Sequence[Any]) -> list[str]:
    """The `distinct` paths whose values repeat (or are missing) among the successes."""
    problems = []
    for path in paths:
        values = [_walk(result, path) for result in results]
        if any(v is MISSING for v in values):
            problems.append(f"distinct {path}: absent in some result")
            continue
        texts = [json.dumps(v, sort_keys=True) for v in values]
        if len(set(texts)) != len(texts):
            problems.append(f"distinct {path}: values repeat: {short(values, 200)}")
    return problems


def _walk(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value
