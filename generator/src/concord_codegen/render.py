"""Jinja2 rendering shared by template-based targets (SDKs): environment, filters, headers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2

from concord_codegen import naming
from concord_codegen.headers import header_line, with_header
from concord_codegen.targets.base import GeneratedFile

FILTERS: dict[str, Callable[[str], str]] = {
    "snake": naming.snake,
    "camel": naming.camel,
    "pascal": naming.pascal,
    "kebab": naming.kebab,
    "screaming": naming.screaming,
}


def template_roots() -> list[Path]:
    """Where `templates/` lives: inside the installed package, or next to `src/` in a checkout."""
    package_dir = Path(__file__).resolve().parent
    candidates = [package_dir / "templates", package_dir.parents[1] / "templates"]
    return [p for p in candidates if p.is_dir()]


def runtime_roots() -> list[Path]:
    """Where `runtime/` (the hand-written SDK cores) lives, like `template_roots`."""
    package_dir = Path(__file__).resolve().parent
    candidates = [package_dir / "runtime", package_dir.parents[1] / "runtime"]
    return [p for p in candidates if p.is_dir()]


def make_environment(search_path: Sequence[Path]) -> jinja2.Environment:
    """A strict, whitespace-tidy environment with the naming filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    env.globals["header_line"] = header_line
    return env


class Renderer:
    """Renders `templates/<language>/<name>` into generated files (header added once here)."""

    def __init__(self, language: str, roots: Sequence[Path] | None = None) -> None:
        search = [root / language for root in (roots if roots is not None else template_roots())]
        self.env = make_environment(search)

    def render(self, template: str, **context: Any) -> str:
        """The text of one template."""
        return self.env.get_template(template).render(**context)

    def file(self, path: str, template: str, **context: Any) -> GeneratedFile:
        """A generated file at `path` from `template`, with the generated-file header."""
        return GeneratedFile(path, with_header(path, self.render(template, **context)))
