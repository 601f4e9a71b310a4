"""JSON log lines on stderr, one object per record; the lines logged in one turn of the event
loop leave in one write."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from concord_server import json_text

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
        fields = record.__dict__  # `extra=` sets attributes of the record
        for key in EXTRAS:
            if key in fields:
                entry[key] = fields[key]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json_text.dumps(entry, default=str).decode()


class TurnBatchedHandler(logging.StreamHandler[TextIO]):
    """A stream handler whose lines from the event loop's thread are written once per loop turn
    (one write for every access line of the turn, not one each); lines from any other thread,
    or with no loop running, are written at once, after the pending ones. `flush` (also run by
    `logging.shutdown` at exit) writes what is pending."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._scheduled_on: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Queues the record's line for the end of the loop turn, or writes it now."""
        try:
            self._pending.append(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread
            self.flush()
            return
        if self._scheduled_on is not loop:
            self._scheduled_on = loop  # a loop that closed before its flush ran is replaced
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Writes the pending lines in one write, then flushes the stream as StreamHandler does."""
        self.acquire()
        try:
            self._scheduled_on = None
            if self._pending:
                text = "".join(self._pending)
                self._pending.clear()
                self.stream.write(text)
        finally:
            self.release()
        super().flush()


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
    """Sends every log record to stderr as JSON. Records skip what the lines never show (the
    caller's frame, thread and process), as the logging HOWTO's "Optimization" advises."""
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = TurnBatchedHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_not_on_purpose)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx writes a line per request at INFO (every etcd health probe, every saga step call):
    # the access log and the saga's own lines already say what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
