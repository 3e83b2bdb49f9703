"""Diagnostics: errors and warnings as data (severity, where, field, what, fix). Only the CLI prints them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One finding. `path` is the field path in the spec, e.g. `workflows[3].migration_port`."""

    severity: Severity
    message: str
    path: str = ""
    fix: str = ""
    file: str | None = None
    line: int | None = None
    rule: str = ""

    def location(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""

    def render(self) -> str:
        """`file:line: path: message; fix` — the one-line form used by every renderer."""
        head = ": ".join(p for p in (self.location(), self.path) if p)
        text = f"{self.message}; {self.fix}" if self.fix else self.message
        return f"{head}: {text}" if head else text

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "rule": self.rule,
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class Diagnostics:
    """An ordered collection of diagnostics with error/warning helpers."""

    items: list[Diagnostic] = field(default_factory=list)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def error(self, message: str, *, path: str = "", fix: str = "", rule: str = "", **where: object) -> None:
        self.items.append(Diagnostic(Severity.ERROR, message, path, fix, rule=rule, **where))  # type: ignore[arg-type]

    def warning(self, message: str, *, path: str = "", fix: str = "", rule: str = "", **where: object) -> None:
        self.items.append(Diagnostic(Severity.WARNING, message, path, fix, rule=rule, **where))  # type: ignore[arg-type]

    def extend(self, other: Iterable[Diagnostic]) -> None:
        self.items.extend(other)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)
