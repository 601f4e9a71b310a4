"""Naming helpers shared by the IR, the targets and the template filters."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+|[0-9]+")


def words(name: str) -> list[str]:
    """Split any of snake_case, camelCase, PascalCase, kebab-case or SCREAMING into words."""
    return [w.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for w in _WORD.findall(part)]


def snake(name: str) -> str:
    """`AcquireLock` -> `acquire_lock`."""
    return "_".join(words(name))


def camel(name: str) -> str:
    """`acquire_lock` -> `acquireLock`."""
    parts = words(name)
    return parts[0] + "".join(w.capitalize() for w in parts[1:]) if parts else ""


def pascal(name: str) -> str:
    """`acquire_lock` -> `AcquireLock`."""
    return "".join(w.capitalize() for w in words(name))


def kebab(name: str) -> str:
    """`AcquireLock` -> `acquire-lock`."""
    return "-".join(words(name))


def screaming(name: str) -> str:
    """`AcquireLock` -> `ACQUIRE_LOCK`."""
    return "_".join(w.upper() for w in words(name))
