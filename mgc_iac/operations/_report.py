"""`report`: the migration report for people outside the terminal, built from recorded state (no cloud).

Per workflow and server: the timeline of steps, bytes copied and speed, verification per directory, who
approved which gate and when, what failed and what to do about it. Nothing here prints or writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgc_iac.errors import ConfigError
from mgc_iac.operations._workspace import Workspace
from mgc_iac.state import is_url


@dataclass(frozen=True)
class Reported:
    report: Any          # mgc_iac.render.report.Report
    html: str


def open_for_report(stack: Path) -> Workspace:
    """The workspace of a report: refused when no state is recorded for the stack (nothing to report)."""
    ws = Workspace.open(stack)
    if not ws.has_state and not is_url(ws.state_path):
        ws.close()
        raise ConfigError(f"no state is recorded for stack `{ws.name}` at {ws.state_path}: run `mgc-iac apply "
                          f"{stack}` first (or set MGC_IAC_STATE to the state the migration used)")
    return ws


def report(ws: Workspace, stack_dir: str) -> Reported:
    """The report of the stack's migration and its self-contained HTML page (`stack_dir`: as shown in it)."""
    from mgc_iac.render.report import build_report, render_report

    plan = ws.plan().plan
    store = ws.store
    built = build_report(plan, store.snapshot(plan.stack), store.journal(plan.stack), store.approvals(plan.stack),
                         stack_dir=stack_dir)
    return Reported(built, render_report(built))
