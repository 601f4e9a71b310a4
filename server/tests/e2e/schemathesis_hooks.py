"""Schemathesis hooks: cap long-poll waits so each fuzzed call returns quickly.

`wait_timeout` may legitimately ask the server to wait up to minutes (lock queues, task long
polls); the fuzzer would spend its time budget waiting. Other values are left as generated.
"""

from __future__ import annotations

from typing import Any

import schemathesis

MAX_WAIT = "0.2s"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """Replaces a well-formed `wait_timeout` in the body with a short one."""
    body = getattr(case, "body", None)
    if isinstance(body, dict) and isinstance(body.get("wait_timeout"), str):
        body["wait_timeout"] = MAX_WAIT
