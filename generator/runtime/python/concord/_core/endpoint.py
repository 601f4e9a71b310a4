"""How one RPC maps to HTTP (verb, path template, path/query/body split) and to gRPC (service)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

_FALSY_DEFAULTS: tuple[Any, ...] = ("", 0, False)


@dataclass(frozen=True)
class Endpoint:
    """The REST binding of an RPC, as the generator read it from `google.api.http`."""

    rpc: str
    verb: str
    path: str
    path_params: tuple[str, ...] = ()
    body: str | None = None
    query: tuple[str, ...] = ()
    presence: frozenset[str] = frozenset()
    retry_safe: bool = True
    public: bool = False
    service: str = ""  # the gRPC service's full name, e.g. "concord.v1.LockService"

    def url_path(self, data: Mapping[str, Any]) -> str:
        """The path with every `{param}` filled in from `data`, each value percent-encoded."""
        path = self.path
        for name in self.path_params:
            value = lookup(data, name)
            if value is None or value == "":
                raise ValueError(f"{self.rpc}: path parameter {name!r} must not be empty")
            path = path.replace("{" + name + "}", quote(_text(value), safe=""))
        return path

    def query_params(self, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Query pairs: lists repeat the key; proto defaults are left out unless set on purpose."""
        pairs: list[tuple[str, str]] = []
        for name in self.query:
            value = lookup(data, name)
            if value is None or isinstance(value, dict):
                continue
            values = value if isinstance(value, list) else [value]
            for item in values:
                if name in self.presence or not _is_default(item):
                    pairs.append((name, _text(item)))
        return pairs

    def body_json(self, data: Mapping[str, Any]) -> Any:
        """The JSON body: the request without path fields (`*`), one field, or None."""
        if self.body is None:
            return None
        if self.body != "*":
            return data.get(self.body)
        top = {name.split(".", 1)[0] for name in self.path_params}
        return {k: v for k, v in data.items() if k not in top}


def lookup(data: Mapping[str, Any], dotted: str) -> Any:
    """`data["a"]["b"]` for `"a.b"`, or None when a part is missing."""
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _is_default(value: Any) -> bool:
    return any(type(value) is type(d) and value == d for d in _FALSY_DEFAULTS)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
