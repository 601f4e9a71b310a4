"""Parsers of command-line values: durations ('30s', '1m30s'), JSON values, key=value pairs."""

from __future__ import annotations

import json
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def duration(text: str | timedelta) -> timedelta:
    """'30s', '1m30s', '500ms', '2h' or a bare number of seconds (defaults come as timedelta)."""
    if isinstance(text, timedelta):
        return text
    value = text.strip()
    try:
        return timedelta(seconds=float(value))
    except ValueError:
        pass
    pos, total = 0, 0.0
    for match in _PART.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(value) or not value:
        raise typer.BadParameter(f"{text!r} is not a duration (e.g. 500ms, 30s, 1m30s, 2h)")
    return timedelta(seconds=total)


def json_value(text: str) -> Any:
    """JSON text; '@FILE' reads a file and '-' standard input; other text is a JSON string."""
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise typer.BadParameter(f"cannot read {text[1:]}: {error.strerror}") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def json_object(text: str) -> dict[str, Any]:
    """A JSON object (same sources as json_value)."""
    value = json_value(text)
    if not isinstance(value, dict):
        raise typer.BadParameter(f"{text!r} is not a JSON object")
    return value


def pairs(items: list[str] | None) -> dict[str, str]:
    """['k=v', ...] as a dict."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE")
        out[key] = value
    return out
