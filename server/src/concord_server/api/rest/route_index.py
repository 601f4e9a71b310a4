"""The contract's routes as one route that finds a request's candidates by its path's first two
segments and its custom verb (`:acquire`), instead of Starlette trying every route's regular
expression on every request.

Only routes that cannot match are skipped, so the answer is Starlette's: the first full match
in order, else the first partial one (a path served with another method: 405). A route whose
template ends in a custom verb matches only paths that end in it, and the text after a path's
last colon is the only verb it can end in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from concord_server.middleware.metrics import NamedRoute

Key = tuple[str, ...]
DEPTH = 2  # "/v1/locks/{name}:acquire" -> ("v1", "locks")


def _verb(path: str) -> str:
    """The text after a path's last colon ("" without one): the one custom verb it can end in."""
    return path.rpartition(":")[2] if ":" in path else ""


def _template_verb(template: str) -> str | None:
    """The custom verb a route template ends in, or None when it ends in none."""
    head, colon, verb = template.rpartition(":")
    if not colon or not head or not verb or any(c in verb for c in "/{}"):
        return None
    return verb


def _by_verb(group: list[NamedRoute]) -> dict[str, list[NamedRoute]]:
    """A group's candidates per verb ("" for paths with none of the group's verbs), in order."""
    verbs = sorted({verb for r in group if (verb := _template_verb(r.path)) is not None})
    return {
        verb: [r for r in group if _template_verb(r.path) in (None, verb)] for verb in ("", *verbs)
    }


def _key(path: str) -> Key | None:
    """The literal first segments of a route template, or None when a parameter is among them."""
    parts = tuple(path.split("/")[1 : DEPTH + 1])
    if len(parts) < DEPTH or any("{" in part for part in parts):
        return None
    return parts


class RouteIndex(BaseRoute):
    """Routes grouped by their literal leading segments; the rest are tried for every path."""

    def __init__(self, routes: Sequence[NamedRoute]) -> None:
        self.routes = list(routes)
        everywhere = [r for r in self.routes if _key(r.path) is None]
        keys = dict.fromkeys(k for k in map(_key, (r.path for r in self.routes)) if k is not None)
        self._by_key: dict[Key, dict[str, list[NamedRoute]]] = {
            key: _by_verb([r for r in self.routes if r in everywhere or _key(r.path) == key])
            for key in keys
        }
        self._everywhere = everywhere
        self._matched: NamedRoute | None = None

    @property
    def path_format(self) -> str | None:
        """The template of the route the last `matches` chose (FastAPI's router reads it right
        after `matches`, with no await between)."""
        return self._matched.path_format if self._matched is not None else None

    def _candidates(self, path: str) -> list[NamedRoute]:
        by_verb = self._by_key.get(tuple(path.split("/")[1 : DEPTH + 1]))
        if by_verb is None:
            return self._everywhere
        return by_verb.get(_verb(path)) or by_verb[""]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """The first full match among the candidates, else the first partial one."""
        self._matched = None
        if scope["type"] != "http":
            return Match.NONE, {}
        partial: tuple[NamedRoute, Scope] | None = None
        for route in self._candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                self._matched = route
                return match, child_scope
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            self._matched = partial[0]
            return Match.PARTIAL, partial[1]
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Runs the route `matches` chose (it named itself in the scope)."""
        route: NamedRoute = scope["route"]
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        """The first route's URL of that name."""
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)
