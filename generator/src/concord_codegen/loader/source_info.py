"""Comments and line numbers of descriptor elements, from `source_code_info`."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.descriptor_pb2 import FileDescriptorProto

from concord_codegen.diagnostics import Location

# Field numbers of the descriptor.proto fields that make up a source path.
FILE_MESSAGE = 4
FILE_ENUM = 5
FILE_SERVICE = 6
MESSAGE_FIELD = 2
MESSAGE_NESTED = 3
MESSAGE_ENUM = 4
MESSAGE_ONEOF = 8
ENUM_VALUE = 2
SERVICE_METHOD = 2

Path = tuple[int, ...]


@dataclass(frozen=True)
class SourceEntry:
    """What source info says about one element: its line and its documentation."""

    line: int
    doc: str


def clean_comment(raw: str) -> str:
    """Strip the one space after `//` and surrounding blank lines from a proto comment."""
    lines = [line[1:] if line.startswith(" ") else line for line in raw.split("\n")]
    return "\n".join(line.rstrip() for line in lines).strip("\n").strip()


class SourceIndex:
    """Look up the line and documentation of an element of one file by its source path."""

    def __init__(self, file: FileDescriptorProto) -> None:
        self.file_name = file.name
        self._entries: dict[Path, SourceEntry] = {}
        for loc in file.source_code_info.location:
            doc = clean_comment(loc.leading_comments) or clean_comment(loc.trailing_comments)
            self._entries[tuple(loc.path)] = SourceEntry(line=loc.span[0] + 1, doc=doc)

    def doc(self, path: Path) -> str:
        """Leading (else trailing) comment of the element at `path`, or ''."""
        entry = self._entries.get(path)
        return entry.doc if entry else ""

    def location(self, path: Path) -> Location:
        """File and line of the element at `path`."""
        entry = self._entries.get(path)
        return Location(self.file_name, entry.line if entry else 0)
