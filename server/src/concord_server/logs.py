"""JSON log lines on stderr, one object per record."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

# Record attributes (set through `extra=`) that become fields of the JSON line.
EXTRAS = (
    "request_id",
    "trace_id",
    "span_id",
    "transport",
    "method",
    "route",
    "status",
    "rpc",
    "code",
    "duration_ms",
    "subject",
)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object with time, level, logger, message and extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line of a record."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in EXTRAS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _not_on_purpose(record: logging.LogRecord) -> bool:
    """False for a record of an exception raised on purpose (`log_quietly`, e.g. a test fault
    that breaks a connection): the ASGI server would log its traceback as an error."""
    error = record.exc_info[1] if record.exc_info else None
    while error is not None:
        if getattr(error, "log_quietly", False):
            return False
        inner = getattr(error, "exceptions", None)
        error = inner[0] if inner and len(inner) == 1 else error.__cause__
    return True


def configure_logging(level: str) -> None:
    """Sends every log record to stderr as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_not_on_purpose)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx writes a line per request at INFO (every etcd health probe, every saga step call):
    # the access log and the saga's own lines already say what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
