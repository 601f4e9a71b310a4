"""Credentials and base URL from arguments or the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
ENV_API_KEY = "CONCORD_API_KEY"
ENV_BEARER_TOKEN = "CONCORD_BEARER_TOKEN"
ENV_BASE_URL = "CONCORD_BASE_URL"


@dataclass(frozen=True)
class Credentials:
    """An API key (`X-API-Key`) or a bearer JWT (`Authorization: Bearer`); both may be empty."""

    api_key: str | None = None
    bearer_token: str | None = None

    def headers(self) -> dict[str, str]:
        """The auth header: the bearer token when set, else the API key, else none."""
        if self.bearer_token:
            return {"Authorization": f"Bearer {self.bearer_token}"}
        if self.api_key:
            return {"X-API-Key": self.api_key}
        return {}


def resolve_credentials(
    api_key: str | None, bearer_token: str | None, env: Mapping[str, str] | None = None
) -> Credentials:
    """Explicit arguments win; without any, `CONCORD_API_KEY` / `CONCORD_BEARER_TOKEN`."""
    if api_key or bearer_token:
        return Credentials(api_key or None, bearer_token or None)
    source = os.environ if env is None else env
    return Credentials(source.get(ENV_API_KEY) or None, source.get(ENV_BEARER_TOKEN) or None)


def resolve_base_url(base_url: str | None, env: Mapping[str, str] | None = None) -> str:
    """`base_url`, else `CONCORD_BASE_URL`, else the local default; no trailing slash."""
    source = os.environ if env is None else env
    return (base_url or source.get(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
