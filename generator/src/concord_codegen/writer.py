"""Write generated files into the working tree and remove the ones no longer produced."""

from __future__ import annotations

from pathlib import Path

from concord_codegen.headers import has_header
from concord_codegen.targets.base import GeneratedFile

IGNORED_DIRS = frozenset({"__pycache__"})


def write_files(root: Path, files: list[GeneratedFile]) -> list[str]:
    """Write each file whose content changed; return the paths written."""
    written = []
    for file in files:
        target = root / file.path
        if target.is_file() and target.read_text(encoding="utf-8") == file.content:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.content, encoding="utf-8", newline="\n")
        written.append(file.path)
    return written


def files_under(root: Path, outputs: tuple[str, ...]) -> set[str]:
    """Files (posix, relative to root) under the output directories, caches left out."""
    found: set[str] = set()
    for out in outputs:
        base = root / out
        if base.is_file():
            found.add(out)
        elif base.is_dir():
            found |= {
                p.relative_to(root).as_posix()
                for p in base.rglob("*")
                if p.is_file() and not IGNORED_DIRS.intersection(p.relative_to(root).parts)
            }
    return found


def stale_files(
    root: Path, produced: set[str], previous: set[str], outputs: tuple[str, ...]
) -> list[str]:
    """Previously generated files, or header-carrying files in output dirs, not produced now."""
    candidates = previous | {p for p in files_under(root, outputs) if _is_generated(root / p)}
    return sorted(p for p in candidates - produced if (root / p).is_file())


def remove_files(root: Path, paths: list[str]) -> None:
    """Delete `paths` and any directories that become empty (caches aside)."""
    for path in paths:
        target = root / path
        target.unlink()
        _prune(target.parent, root)


def _prune(directory: Path, root: Path) -> None:
    """Remove empty directories upwards from `directory`, stopping at `root`."""
    while directory != root and directory.is_dir():
        remaining = [p for p in directory.iterdir() if p.name not in IGNORED_DIRS]
        if remaining:
            return
        for cache in directory.iterdir():
            _remove_tree(cache)
        directory.rmdir()
        directory = directory.parent


def _remove_tree(path: Path) -> None:
    if path.is_dir():
        for child in path.iterdir():
            _remove_tree(child)
        path.rmdir()
    else:
        path.unlink()


def _is_generated(path: Path) -> bool:
    """True when a file on disk carries the generated-file header."""
    try:
        return has_header(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False
