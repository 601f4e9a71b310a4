"""The profile file (`~/.config/concord/config.toml`): named contexts, like kubectl's."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

FIELDS = ("base_url", "api_key", "token", "timeout")


class ConfigError(Exception):
    """The profile file cannot be read or names something it does not have."""


@dataclass(frozen=True)
class Context:
    """One named context: where the server is and how to sign in."""

    base_url: str | None = None
    api_key: str | None = None
    token: str | None = None
    timeout: float | None = None

    def merged(self, over: Context) -> Context:
        """This context with every field `over` sets replaced."""
        changes = {f.name: getattr(over, f.name) for f in fields(over)}
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass
class Profile:
    """The whole file: the contexts and which one is current."""

    contexts: dict[str, Context] = field(default_factory=dict)
    current_context: str | None = None


def default_path(env: Mapping[str, str] | None = None) -> Path:
    """`$CONCORD_CONFIG`, else `$XDG_CONFIG_HOME/concord/config.toml`, else `~/.config/...`."""
    source = os.environ if env is None else env
    if source.get("CONCORD_CONFIG"):
        return Path(source["CONCORD_CONFIG"])
    base = source.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "concord" / "config.toml"


def _context(name: str, table: object) -> Context:
    if not isinstance(table, dict):
        raise ConfigError(f"context {name!r} must be a table")
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise ConfigError(f"context {name!r}: unknown keys {', '.join(unknown)}")
    timeout = table.get("timeout")
    if timeout is not None and not isinstance(timeout, int | float):
        raise ConfigError(f"context {name!r}: timeout must be a number of seconds")
    for key in ("base_url", "api_key", "token"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"context {name!r}: {key} must be a string")
    return Context(
        base_url=table.get("base_url"),
        api_key=table.get("api_key"),
        token=table.get("token"),
        timeout=float(timeout) if timeout is not None else None,
    )


def load(path: Path) -> Profile:
    """The profile at `path`; an empty one when the file does not exist."""
    if not path.exists():
        return Profile()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error
    contexts = data.get("contexts", {})
    if not isinstance(contexts, dict):
        raise ConfigError(f"{path}: [contexts] must be a table of tables")
    current = data.get("current_context")
    if current is not None and not isinstance(current, str):
        raise ConfigError(f"{path}: current_context must be a string")
    return Profile({n: _context(n, t) for n, t in contexts.items()}, current)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c >= " " else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def dumps(profile: Profile) -> str:
    """The profile as TOML (the file's only shape: flat contexts of strings and one number)."""
    lines = ["# Concord CLI contexts (concord config --help)."]
    if profile.current_context is not None:
        lines.append(f"current_context = {_quote(profile.current_context)}")
    for name, ctx in sorted(profile.contexts.items()):
        lines += ["", f"[contexts.{_quote(name)}]"]
        for key in FIELDS:
            value = getattr(ctx, key)
            if isinstance(value, float):
                lines.append(f"{key} = {value!r}")
            elif value is not None:
                lines.append(f"{key} = {_quote(value)}")
    return "\n".join(lines) + "\n"


def save(path: Path, profile: Profile) -> None:
    """Write the profile, readable by its owner only (it may hold secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(dumps(profile))
    tmp.replace(path)
