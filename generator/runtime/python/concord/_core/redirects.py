"""Redirects stay on the base URL's origin: followed there, refused to anywhere else.

The credential headers (`X-API-Key`, `Authorization`) are sent only to the configured origin
(docs/sdk-helpers.md, "Credentials"). httpx would carry `X-API-Key` across origins, so the
cores send with `follow_redirects=False` and follow same-origin redirects here.
"""

from __future__ import annotations

from typing import Final

import httpx

from concord._core.errors_base import CrossOriginRedirectError

MAX_REDIRECTS: Final = 10
_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def origin(url: httpx.URL | str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in; ws/wss count as http/s."""
    parsed = httpx.URL(url) if isinstance(url, str) else url
    scheme = {"ws": "http", "wss": "https"}.get(parsed.scheme, parsed.scheme)
    return scheme, parsed.host.lower(), parsed.port or _DEFAULT_PORTS.get(parsed.scheme)


def next_hop(response: httpx.Response, base_url: str) -> httpx.Request | None:
    """The request a redirect asks for, when it stays on `base_url`'s origin; None when the
    response is not a redirect; CrossOriginRedirectError for a redirect anywhere else."""
    target = response.next_request if response.is_redirect else None
    if target is None:
        return None
    if origin(target.url) != origin(base_url):
        raise CrossOriginRedirectError(str(target.url), request=response.request)
    return target
