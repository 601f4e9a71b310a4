"""Schemathesis hooks: cap long-poll waits, and mix hostile text and nesting into bodies.

`wait_timeout` may legitimately ask the server to wait up to minutes (lock queues, task long
polls); the fuzzer would spend its time budget waiting. Besides, every few calls one generated
body gets a NUL character (in a value or a key) or a JSON value nested hundreds of levels deep
(issue 7: each once gave a 500), so that these classes are always among the fuzzed inputs
(up to ~260 levels: Schemathesis hashes bodies recursively; deeper ones are in test_hostile_input).
Lone surrogates are not injected here: Schemathesis itself fails to re-encode a body holding one;
tests/e2e/test_hostile_input.py and tests/unit/test_codec_properties.py cover them.
"""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis

MAX_WAIT = "0.2s"
VALUE_FIELDS = ("data", "value", "input", "output", "custom")
_calls = itertools.count()


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _first_string(body: dict[str, Any]) -> str | None:
    return next((k for k, v in body.items() if isinstance(v, str)), None)


def _mutate(body: dict[str, Any], turn: int) -> None:
    """One hostile change to a generated body, chosen by the call number."""
    kind = turn % 4
    if kind == 1 and (key := _first_string(body)) is not None:
        body[key] = body[key] + "\x00nul"
    elif kind == 2:
        body["nul\x00key"] = 1
    elif kind == 3:
        events = body.get("events")
        holders = (
            [body, *(e for e in events if isinstance(e, dict))]
            if isinstance(events, list)
            else [body]
        )
        for holder in holders:
            for name in VALUE_FIELDS:
                if name in holder:
                    holder[name] = _deep(110 + 37 * (turn % 5))  # Schemathesis recurses too
                    return


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """Shortens `wait_timeout`, and makes some bodies hostile."""
    body = getattr(case, "body", None)
    if not isinstance(body, dict):
        return
    if isinstance(body.get("wait_timeout"), str):
        body["wait_timeout"] = MAX_WAIT
    _mutate(body, next(_calls))
