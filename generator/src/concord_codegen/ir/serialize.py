"""Dump the IR as plain JSON-ready data (for `concord-gen ir` and SDK templates)."""

from __future__ import annotations

import dataclasses
from enum import Enum as PyEnum
from typing import Any

from concord_codegen.diagnostics import Location
from concord_codegen.ir.model import Api


def to_data(value: Any) -> Any:
    """Dataclasses as dicts, enums as their values, tuples as lists, locations as strings."""
    if isinstance(value, Location):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, PyEnum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_data(item) for item in value]
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    return value


def api_to_data(api: Api) -> dict[str, Any]:
    """The whole API as a dict."""
    data: dict[str, Any] = to_data(api)
    return data
