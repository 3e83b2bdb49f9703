"""`status`, `status --watch` and `state journal`: where each server of a stack stands, read from its state.

They only read: never the stack's lock (an apply may be running it elsewhere). Nothing here prints: `watch`
hands each change to a callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mgc_iac.engine import stack_status
from mgc_iac.operations._workspace import Workspace
from mgc_iac.state import JournalEntry, LockInfo


@dataclass(frozen=True)
class StackStatus:
    """`report`: {stack, serial, environment_id, workflows: [{name, servers: [...]}], lock?} with each server's
    current step, state, progress, the gate it waits at and for whom, its queue position, error and
    verification (what `status --format json` prints); `lock`: who holds the stack's lock."""

    report: dict[str, Any]
    lock: LockInfo | None


def status(ws: Workspace) -> StackStatus:
    """Where each server of the stack stands now."""
    planned = ws.plan()
    plan, store = planned.plan, ws.store
    report = stack_status(plan, store.snapshot(plan.stack), approved=planned.approved)
    # what approvals are bound to (with the cloud account); none before the first apply
    report["environment_id"] = store.environment_id() if ws.has_state else None
    lock = store.lock_info(plan.stack)
    if lock is not None:
        report["lock"] = {"pid": lock.pid, "host": lock.host, "since": lock.since, "operation": lock.operation,
                          "id": lock.lock_id}
    return StackStatus(report, lock)


@dataclass(frozen=True)
class Moved:
    """One server whose step or state changed since the last read."""

    server: str              # workflow/server
    progress: str
    step: str
    state: str
    serial: int


@dataclass(frozen=True)
class Watched:
    """How a watch ended: the stack's serial, whether something still runs, and who holds the lock."""

    stack: str
    serial: int
    busy: bool
    lock: LockInfo | None


def _rows(found: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {f"{wf['name']}/{s['server']}": (s["progress"], s["current_step"] or "-", s["state"])
            for wf in found["workflows"] for s in wf["servers"]}


def watch(ws: Workspace, interval: float, on_change: Callable[[Moved], None], max_polls: int | None = None) -> Watched:
    """Every `interval` seconds, read the stack's recorded steps and hand each server that moved to `on_change`,
    until no server is running or queued and no apply holds the lock (or after `max_polls` reads)."""
    plan = ws.plan().plan
    store = ws.store
    seen: dict[str, tuple[str, str, str]] = {}
    polls = 0
    while True:
        found = stack_status(plan, store.snapshot(plan.stack))
        lock = store.lock_info(plan.stack)
        rows = _rows(found)
        for server, row in rows.items():
            if seen.get(server) != row:
                on_change(Moved(server, *row, found["serial"]))
        seen = rows
        polls += 1
        busy = lock is not None or any(state in ("running", "queued") for _, _, state in rows.values())
        if not busy or (max_polls is not None and polls >= max_polls):
            return Watched(plan.stack, found["serial"], busy, lock)
        time.sleep(interval)


def journal(ws: Workspace, limit: int = 50) -> list[JournalEntry]:
    """The last `limit` entries of the stack's write-ahead journal (before/after records of each step)."""
    return ws.store.journal(ws.name, limit)
