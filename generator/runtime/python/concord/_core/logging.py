"""Opt-in logging (`CONCORD_LOG=debug|info|warning`) with credentials redacted."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

logger = logging.getLogger("concord")

ENV_LOG = "CONCORD_LOG"
REDACTED = "<redacted>"
SENSITIVE_HEADERS = frozenset(
    {"authorization", "x-api-key", "proxy-authorization", "cookie", "set-cookie"}
)
SENSITIVE_KEYS = frozenset(
    {"secret", "access_token", "api_key", "bearer_token", "password", "token"}
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_HANDLER = logging.StreamHandler()


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers with credential values replaced by `<redacted>`."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: REDACTED if k.lower() in SENSITIVE_HEADERS else v for k, v in items}


def redact(value: Any) -> Any:
    """JSON-like data with secret-bearing keys and bearer tokens in strings redacted."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in SENSITIVE_KEYS else redact(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _BEARER.sub(r"\1" + REDACTED, value)
    return value


def setup_logging(level: str | None = None) -> None:
    """Attach a stderr handler to the `concord` logger at `level` or `$CONCORD_LOG` (once)."""
    name = (level or os.environ.get(ENV_LOG, "")).strip().upper()
    numeric = logging.getLevelName(name) if name else None
    if not isinstance(numeric, int):
        return
    if _HANDLER not in logger.handlers:
        _HANDLER.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
        logger.addHandler(_HANDLER)
    logger.setLevel(numeric)
