"""Rendering: tables for people (colour only on a terminal), JSON or YAML for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import yaml
from concord import JSON_NULL
from rich.console import Console
from rich.table import Table
from rich.text import Text


class Format(StrEnum):
    """`-o` values."""

    table = "table"
    json = "json"
    yaml = "yaml"


class Model(Protocol):
    """What every SDK model is: a dataclass with the contract's JSON mapping."""

    def to_dict(self) -> dict[str, Any]: ...


Cell = str | Text
Column = tuple[str, Callable[[Any], Cell]]


def data_of(value: Any) -> Any:
    """Models as the contract's JSON; lists of them as lists; plain data as is."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [data_of(v) for v in value]
    if value is JSON_NULL:
        return None
    return value


def dump(data: Any, fmt: Format, *, compact: bool = False) -> str:
    """JSON (indented, or one line when `compact`) or a YAML document."""
    if fmt is Format.yaml:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")
    if compact:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def when(moment: datetime | None) -> str:
    """A timestamp in UTC to the second, or '-'."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def until(moment: datetime | None, now: datetime | None = None) -> str:
    """Time left until `moment` ('12s', '3m04s'), 'expired', or '-' without one."""
    if moment is None:
        return "-"
    left = (moment - (now or datetime.now(UTC))).total_seconds()
    return "expired" if left <= 0 else span(timedelta(seconds=left))


def span(length: timedelta | None) -> str:
    """A duration as '850ms', '12s', '3m04s' or '2h05m'."""
    if length is None:
        return "-"
    total = length.total_seconds()
    if total < 1:
        return f"{round(total * 1000)}ms"
    seconds = int(total)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def enum_text(value: Any) -> str:
    """An SDK enum member (or None) as its contract name."""
    if value is None:
        return "-"
    return str(getattr(value, "value", value))


def json_text(value: Any, limit: int = 60) -> str:
    """A JSON value on one line, shortened for a table cell."""
    text = json.dumps(data_of(value), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


STATE_STYLES = {
    "COMPLETED": "green",
    "SUCCEEDED": "green",
    "HEALTHY": "green",
    "SERVING": "green",
    "ACQUIRED": "green",
    "RUNNING": "cyan",
    "PENDING": "dim",
    "COMPENSATING": "yellow",
    "COMPENSATED": "yellow",
    "RELEASED": "yellow",
    "FAILED": "red",
    "COMPENSATION_FAILED": "red",
    "UNHEALTHY": "red",
    "EXPIRED": "red",
    "NOT_SERVING": "red",
}


def styled(value: Any) -> Text:
    """An enum value, coloured by meaning (colour shows only on a terminal)."""
    name = enum_text(value)
    return Text(name, style=STATE_STYLES.get(name, ""))


class Printer:
    """Writes results to stdout in the chosen format."""

    def __init__(self, console: Console, fmt: Format) -> None:
        self.console = console
        self.format = fmt

    def raw(self, text: str) -> None:
        """Text as is, no markup or highlighting."""
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def items(self, items: Iterable[Any], columns: Sequence[Column], *, title: str = "") -> None:
        """A list: a table, or a JSON/YAML list of the models."""
        rows = list(items)
        if self.format is not Format.table:
            self.raw(dump(data_of(rows), self.format))
            return
        table = Table(title=title or None, title_justify="left", header_style="bold")
        for header, _ in columns:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*(get(row) for _, get in columns))
        self.console.print(table)
        if not rows:
            self.console.print(Text("(none)", style="dim"))

    def one(self, item: Any, fields: Sequence[Column]) -> None:
        """One object: a two-column table, or its JSON/YAML."""
        if self.format is not Format.table:
            self.raw(dump(data_of(item), self.format))
            return
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for label, get in fields:
            table.add_row(label, get(item))
        self.console.print(table)

    def event(self, item: Any, line: Text | str) -> None:
        """One message of a stream: a line, or one JSON line (NDJSON) / one YAML document."""
        if self.format is Format.json:
            self.raw(dump(data_of(item), Format.json, compact=True))
        elif self.format is Format.yaml:
            self.raw("---\n" + dump(data_of(item), Format.yaml))
        else:
            self.console.print(line, highlight=False, soft_wrap=True)
        self.console.file.flush()
