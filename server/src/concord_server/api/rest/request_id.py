"""Request ids: echo a sane `X-Request-ID` or create one (middleware/envelope.py puts it in
the request state and the response)."""

from __future__ import annotations

import random
import re

_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
HEADER = b"x-request-id"


def new_request_id() -> str:
    """A fresh request id: 128 random bits in hex. An id needs to be unique, not secret, so it
    comes from the process's own generator (as trace ids do), without a system call."""
    return f"req_{random.getrandbits(128):032x}"


def request_id_from(given: str | None) -> str:
    """The caller's request id when it is sane (1-128 of `A-Za-z0-9._:-`), else a fresh one."""
    return given if given and _VALID.fullmatch(given) else new_request_id()
