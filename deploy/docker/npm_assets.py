"""Fetches the npm packages whose files the server serves offline (Swagger UI, GraphiQL, React).

Used by the image build, which has Python but no Node: each package's tarball comes from the
registry at the version `tools/package-lock.json` pins and must match the lock's sha512
integrity. Source maps are left out (the pages do not need them).

    python3 npm_assets.py LOCKFILE DEST NAME...
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = os.environ.get("NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")


def locked(lock: dict[str, object], name: str) -> tuple[str, str]:
    """The (version, integrity) the lock file pins for a top-level package."""
    packages = lock.get("packages")
    entry = packages.get(f"node_modules/{name}") if isinstance(packages, dict) else None
    if not isinstance(entry, dict) or "integrity" not in entry:
        raise SystemExit(f"npm_assets: {name} is not pinned in the lock file")
    return str(entry["version"]), str(entry["integrity"])


def tarball_url(name: str, version: str) -> str:
    """The registry's tarball address (`@scope/name` files are named after `name`)."""
    return f"{REGISTRY}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def verified(data: bytes, integrity: str, name: str) -> bytes:
    """`data` when its sha512 is the lock's integrity; stops the build otherwise."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise SystemExit(f"npm_assets: {name}: unsupported integrity {algorithm}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"npm_assets: {name}: integrity mismatch (got sha512-{actual})")
    return data


def extract(data: bytes, dest: Path) -> int:
    """Unpacks the tarball's `package/` folder into `dest`, without source maps."""
    count = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or member.name.endswith(".map"):
                continue
            relative = Path(member.name).relative_to("package")
            if relative.is_absolute() or ".." in relative.parts:
                raise SystemExit(f"npm_assets: unsafe path {member.name}")
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
            count += 1
    return count


def main(argv: list[str]) -> None:
    """Fetches, verifies and unpacks each named package into DEST/NAME."""
    if len(argv) < 3:
        raise SystemExit(__doc__)
    lock = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    dest = Path(argv[1])
    for name in argv[2:]:
        version, integrity = locked(lock, name)
        with urllib.request.urlopen(tarball_url(name, version), timeout=120) as answer:
            data = verified(answer.read(), integrity, name)
        files = extract(data, dest / name)
        print(f"npm_assets: {name}@{version}: {files} files", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
