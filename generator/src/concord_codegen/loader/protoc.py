"""Run grpcio-tools' bundled protoc in-process and turn its messages into diagnostics."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

from concord_codegen.diagnostics import Diagnostics, Location

_MESSAGE = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>\d+):(?:\d+:)?\s*(?P<text>.*)$")


@dataclass(frozen=True)
class ProtocResult:
    """Exit code and collected stderr of one protoc run."""

    returncode: int
    stderr: str

    def diagnostics(self, roots: Sequence[Path] = ()) -> Diagnostics:
        """protoc's messages as diagnostics (errors unless it says `warning:`), paths relative."""
        found = Diagnostics()
        prefixes = [f"{root}/" for root in roots]
        for line in self.stderr.splitlines():
            text = line.strip()
            for prefix in prefixes:
                text = text.removeprefix(prefix)
            if text:
                _add_message(found, text)
        if self.returncode != 0 and not found.errors:
            found.error(Location(), f"protoc failed with exit code {self.returncode}")
        return found


def _add_message(found: Diagnostics, line: str) -> None:
    """Parse one protoc line `file:line:col: text` into a diagnostic."""
    match = _MESSAGE.match(line)
    location = Location(match["file"], int(match["line"])) if match else Location()
    text = match["text"] if match else line
    if text.lower().startswith("warning:"):
        found.warning(location, text.split(":", 1)[1].strip())
    else:
        found.error(location, text)


def well_known_include() -> Path:
    """The include directory of the protos that ship with grpcio-tools (google/protobuf/...)."""
    return Path(grpc_tools.__file__).parent / "_proto"


def include_args(includes: Sequence[Path]) -> list[str]:
    """`-I` arguments for the given include roots plus the bundled well-known types."""
    return [f"-I{path}" for path in [*includes, well_known_include()] if path.is_dir()]


def run_protoc(args: Sequence[str]) -> ProtocResult:
    """Run protoc with `args` (no argv[0]) in this process, capturing what it writes to stderr."""
    with _captured_stderr() as captured:
        returncode = int(protoc.main(["grpc_tools.protoc", *args]))
    return ProtocResult(returncode, captured.text)


@dataclass
class _Captured:
    text: str = ""


@contextmanager
def _captured_stderr() -> Iterator[_Captured]:
    """Redirect file descriptor 2 (protoc writes there from C++) into a buffer."""
    captured = _Captured()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", errors="replace")
