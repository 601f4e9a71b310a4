"""Diagnostics: problems found in the contract, collected with a level instead of raised."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Level(StrEnum):
    """How serious a diagnostic is: errors stop generation, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A place in the contract: proto file path (relative to the include root) and 1-based line."""

    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        if not self.file:
            return "<spec>"
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Diagnostic:
    """One problem: level, where it is and what it is."""

    level: Level
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.level.value}: {self.message}"


@dataclass
class Diagnostics:
    """An ordered collection of diagnostics that stages append to."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, location: Location, message: str) -> None:
        """Record an error."""
        self.items.append(Diagnostic(Level.ERROR, location, message))

    def warning(self, location: Location, message: str) -> None:
        """Record a warning."""
        self.items.append(Diagnostic(Level.WARNING, location, message))

    def extend(self, other: Diagnostics) -> None:
        """Append every diagnostic of `other`."""
        self.items.extend(other.items)

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics of level error."""
        return [d for d in self.items if d.level is Level.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        """The diagnostics of level warning."""
        return [d for d in self.items if d.level is Level.WARNING]

    def sorted(self) -> list[Diagnostic]:
        """Diagnostics in a stable order: by file, line, then level and message."""
        return sorted(self.items, key=lambda d: (d.location, d.level.value, d.message))

    def __len__(self) -> int:
        return len(self.items)
