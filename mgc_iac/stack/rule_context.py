"""What a rule looks at and where it writes: the stack, live facts if refreshed, other stacks' MACs, diagnostics.

Shared by the rules of stack/rules.py and stack/rules_page.py (each appends located diagnostics to one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mgc_iac.diagnostics import Diagnostic, Diagnostics, Severity
from mgc_iac.stack.facts import KeyFacts, LiveFacts
from mgc_iac.stack.models import Source, Stack, Workflow
from mgc_iac.stack.selection import workflow_servers
from mgc_iac.stack.sourcemap import Loc, format_loc

if TYPE_CHECKING:
    from mgc_iac.stack.loader import LoadedStack


@dataclass
class RuleContext:
    """What the rules look at: the stack, live facts if refreshed, and what other stacks hold."""

    stack: Stack
    facts: LiveFacts | None = None
    # MAC -> (stack, source) for every other stack sharing this state backend
    other_macs: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    diags: Diagnostics = field(default_factory=Diagnostics)
    # KMS keys known offline (the lab seed, the last --refresh): stack/known_keys.py
    known_keys: Mapping[str, KeyFacts] = field(default_factory=dict)
    # the loaded stack `stack` came from: its canonical JSON (cached, the digest's) spares a rule a dump
    loaded: LoadedStack | None = None

    def error(self, loc: Loc, message: str, fix: str = "", rule: str = "") -> None:
        self.diags.items.append(Diagnostic(Severity.ERROR, message, format_loc(loc), fix, rule=rule,
                                           file=None, line=None))
        self._locs.append(loc)

    def warning(self, loc: Loc, message: str, fix: str = "", rule: str = "") -> None:
        self.diags.items.append(Diagnostic(Severity.WARNING, message, format_loc(loc), fix, rule=rule,
                                           file=None, line=None))
        self._locs.append(loc)

    def __post_init__(self) -> None:
        self._locs: list[Loc] = []
        self._servers = workflow_servers(self.stack)

    def servers(self, wf: Workflow) -> list[Source]:
        return self._servers.get(wf.name, [])
