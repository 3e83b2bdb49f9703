"""`validate` and `init`: check a stack against every MgC rule; write a new stack that validates.

Offline by default: no credentials are needed, nothing is changed. `refresh` adds the rules that need live
facts (security group rules, KMS keys, subnets, sources). Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mgc_iac.diagnostics import Diagnostics
from mgc_iac.operations._workspace import Workspace


@dataclass(frozen=True)
class Validated:
    stack: str
    diagnostics: Diagnostics
    workflows: int
    sources: int

    @property
    def valid(self) -> bool:
        return not self.diagnostics.has_errors


def validate(ws: Workspace) -> Validated:
    """Every diagnostic the rules found when the workspace was opened (SpecError already for a stack that does
    not load). Open the workspace with refresh_facts=True for the live rules."""
    assert ws.checked is not None
    model = ws.loaded.stack
    return Validated(ws.name, ws.checked.diagnostics, len(model.workflows), len(model.sources))


def init_stack(directory: Path, name: str | None = None, project: str = "my-migration") -> list[Path]:
    """Scaffold a stack in an empty (or new) `directory` that validates; the files written."""
    from mgc_iac.errors import UserError
    from mgc_iac.stack import scaffold_stack

    if directory.exists() and any(directory.iterdir()):
        raise UserError(f"{directory} is not empty; choose a new directory")
    return scaffold_stack(directory, name or directory.resolve().name, project)
