"""Where the connection settings come from: flags, then environment, then the profile file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from concord_cli.config import ConfigError, Context, Profile, default_path, load

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Settings:
    """The resolved connection: server, one credential, timeout, and the context they came from."""

    base_url: str
    api_key: str | None
    token: str | None
    timeout: float
    context: str | None
    config_path: Path


def from_env(env: Mapping[str, str]) -> Context:
    """`CONCORD_BASE_URL`, `CONCORD_API_KEY`, `CONCORD_TOKEN` (empty counts as unset)."""
    return Context(
        base_url=env.get("CONCORD_BASE_URL") or None,
        api_key=env.get("CONCORD_API_KEY") or None,
        token=env.get("CONCORD_TOKEN") or None,
    )


def pick_context(profile: Profile, wanted: str | None) -> tuple[str | None, Context]:
    """The context named `wanted` (an error when missing), else the file's current one."""
    name = wanted or profile.current_context
    if name is None:
        return None, Context()
    if name not in profile.contexts:
        known = ", ".join(sorted(profile.contexts)) or "none"
        raise ConfigError(f"no context named {name!r} (contexts: {known})")
    return name, profile.contexts[name]


def resolve(
    flags: Context,
    context_name: str | None = None,
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the layers, highest first: flags, environment, the chosen context, defaults.

    Credentials are taken as a pair from the highest layer that sets either, so a key given
    by flag is not overridden by a token from the profile (a token would win over a key)."""
    source = os.environ if env is None else env
    path = config_path or default_path(source)
    name, ctx = pick_context(load(path), context_name or source.get("CONCORD_CONTEXT") or None)
    layers = [flags, from_env(source), ctx]
    merged = ctx.merged(from_env(source)).merged(flags)
    credential = next((c for c in layers if c.api_key or c.token), Context())
    return Settings(
        base_url=(merged.base_url or DEFAULT_BASE_URL).rstrip("/"),
        api_key=credential.api_key,
        token=credential.token,
        timeout=merged.timeout if merged.timeout is not None else DEFAULT_TIMEOUT,
        context=name,
        config_path=path,
    )
