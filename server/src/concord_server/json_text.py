"""JSON text in and out: orjson where it is installed, the stdlib otherwise. Whatever orjson
refuses goes to the stdlib, so the answers, and the error messages the contract quotes, stay the
stdlib's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # pure-Python platforms: the stdlib only
    orjson = None  # type: ignore[assignment]

Default = Callable[[Any], Any] | None
# datetimes and dataclasses go through `default`, as with the stdlib, not orjson's own forms
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS if orjson else 0


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(raw: bytes | str) -> Any:
    """Strict JSON (no NaN/Infinity); raises the stdlib's ValueError (or RecursionError)."""
    if orjson is not None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the stdlib decides, and words the error
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return json.loads(text, parse_constant=_no_constant)


def dumps(value: Any, default: Default = None) -> bytes:
    """Compact JSON as UTF-8 bytes."""
    if orjson is not None:
        try:
            return orjson.dumps(value, default=default, option=_PASSTHROUGH)
        except TypeError:  # orjson.JSONEncodeError: the stdlib may still manage (big ints)
            pass
    return json.dumps(value, separators=(",", ":"), default=default).encode()
