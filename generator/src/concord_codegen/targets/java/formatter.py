"""google-java-format over generated Java sources (the formatter `make lint` checks with)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from concord_codegen.targets.base import TargetError

# Where `scripts/sdk/java.sh` (sdk_setup) puts the pinned google-java-format all-deps jar.
FORMATTER_JAR = ".scratch/java/google-java-format.jar"
# google-java-format reaches into javac, which Java 16+ closes unless exported.
JAVAC_EXPORTS = [
    f"--add-exports=jdk.compiler/com.sun.tools.javac.{pkg}=ALL-UNNAMED"
    for pkg in ("api", "code", "file", "parser", "tree", "util")
]


class JavaFormatterMissingError(TargetError):
    """google-java-format or java is not installed."""


def formatter_command(root: Path) -> list[str]:
    """The command that runs google-java-format (`CONCORD_JAVA_FORMATTER_JAR` overrides)."""
    jar = Path(os.environ.get("CONCORD_JAVA_FORMATTER_JAR", root / FORMATTER_JAR))
    java = shutil.which("java")
    if java is None or not jar.is_file():
        raise JavaFormatterMissingError(
            f"the Java targets need java and {FORMATTER_JAR}: run `scripts/setup.sh sdks` "
            "(scripts/sdk/java.sh installs google-java-format)"
        )
    return [java, *JAVAC_EXPORTS, "-jar", str(jar)]


def format_java(root: Path, files: dict[str, str]) -> dict[str, str]:
    """The texts of `files` with every `.java` file formatted; others unchanged."""
    java_files = sorted(p for p in files if p.endswith(".java"))
    if not java_files:
        return dict(files)
    command = formatter_command(root)
    with tempfile.TemporaryDirectory(prefix="concord-gen-java-") as tmp:
        base = Path(tmp)
        for path in java_files:
            (base / path).parent.mkdir(parents=True, exist_ok=True)
            (base / path).write_text(files[path], encoding="utf-8")
        result = subprocess.run(
            [*command, "--replace", *java_files],
            cwd=base,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            detail = result.stderr[-4000:]
            raise TargetError(f"google-java-format rejected generated Java:\n{detail}")
        return {
            p: (base / p).read_text(encoding="utf-8") if p in java_files else t
            for p, t in files.items()
        }
