"""Copy recorded state from one backend to another (SQLite <-> PostgreSQL), as `terraform init -migrate-state`.

The source stacks are locked while they are read, so nothing moves during the copy; the destination gets each
stack whole (resources, steps, sources, approvals, journal, serial and the account-wide workflow order) in one
transaction, and is refused when it already has one of them. `same_state` then checks the copy record by record.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace

from mgc_iac.state.model import StackExport
from mgc_iac.state.store import StateStore


def copy_stacks(source: StateStore, target: StateStore, stacks: list[str]) -> list[StackExport]:
    """Copy `stacks` from `source` to `target`; returns what was copied."""
    with ExitStack() as locks:
        for stack in stacks:
            locks.enter_context(source.lock(stack, "state migrate"))
        exports = [source.export_stack(stack) for stack in stacks]
        target.import_stacks(exports)
    return exports


def comparable(export: StackExport) -> StackExport:
    """The export without what a backend numbers itself (journal and workflow sequence numbers): the workflow
    order is kept as ranks, the journal as its entries in order."""
    ranks = [(rank, name) for rank, (_, name) in enumerate(sorted(export.workflows))]
    journal = [replace(j, seq=i) for i, j in enumerate(export.journal)]
    return replace(export, workflows=ranks, journal=journal)


def differences(source: StateStore, target: StateStore, stacks: list[str]) -> list[str]:
    """What differs between the two backends for `stacks` (empty: the copy is faithful)."""
    found = []
    for stack in stacks:
        a, b = comparable(source.export_stack(stack)), comparable(target.export_stack(stack))
        for part in ("serial", "resources", "steps", "workflows", "sources", "approvals", "journal"):
            if getattr(a, part) != getattr(b, part):
                found.append(f"{stack}: {part}")
    return found
