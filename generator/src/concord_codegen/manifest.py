"""`generated-manifest.json`: every generated path with its sha256 and the generator version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from concord_codegen import GENERATOR_NAME, __version__
from concord_codegen.headers import HEADER_TEXT, has_header
from concord_codegen.targets.base import GeneratedFile


def sha256(text: str) -> str:
    """Hex sha256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """Generated paths (posix, relative to the root) and their hashes."""

    files: dict[str, str] = field(default_factory=dict)
    version: str = __version__

    @classmethod
    def of(cls, files: list[GeneratedFile]) -> Manifest:
        """The manifest of a list of generated files."""
        return cls({f.path: sha256(f.content) for f in files})

    def merged(self, previous: Manifest, keep: set[str]) -> Manifest:
        """This manifest plus the `keep` entries of `previous` (targets not run this time)."""
        kept = {p: h for p, h in previous.files.items() if p in keep}
        return Manifest({**kept, **self.files}, self.version)

    def render(self) -> str:
        """Stable JSON text: sorted paths, two-space indent, trailing newline."""
        data = {
            "_comment": HEADER_TEXT,
            "generator": GENERATOR_NAME,
            "version": self.version,
            "files": dict(sorted(self.files.items())),
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def read_manifest(path: Path) -> Manifest | None:
    """The manifest at `path`, or None if it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = {str(k): str(v) for k, v in dict(data["files"]).items()}
        return Manifest(files, str(data.get("version", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def missing_headers(files: list[GeneratedFile]) -> list[str]:
    """Paths of generated files that do not carry the generated-file header."""
    return [f.path for f in files if not has_header(f.content)]
