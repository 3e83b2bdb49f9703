"""The account-wide cap on concurrent migrations (MgC: 1,000 by default), over every stack in the backend.

A server holds a migration slot from its first started step until its last step is done: servers waiting at
a gate or failed still hold theirs. Servers beyond the cap wait at their first step (QUEUED) and start in
the order their workflows were created (the backend's account-wide workflow sequence).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from mgc_iac.state.model import Snapshot, StepRecord, StepStatus

IDLE = (StepStatus.PENDING, StepStatus.QUEUED)
FINAL_STEP = "MigrationTaskClear"


@dataclass(frozen=True)
class Occupancy:
    in_flight: frozenset[tuple[str, str, str]]   # (stack, workflow, server) holding a slot
    queued: tuple[tuple[int, str, str, str], ...]  # (workflow seq, stack, workflow, server), queue order


def _servers(snapshot: Snapshot) -> dict[tuple[str, str], list[StepRecord]]:
    grouped: dict[tuple[str, str], list[StepRecord]] = defaultdict(list)
    for record in snapshot.steps.values():
        grouped[(record.workflow, record.server)].append(record)
    return grouped


def holds_slot(records: list[StepRecord]) -> bool:
    started = any(r.status not in IDLE for r in records)
    finished = any(r.step == FINAL_STEP and r.status in (StepStatus.DONE, StepStatus.SKIPPED) for r in records)
    return started and not finished


def occupancy(snapshots: list[Snapshot]) -> Occupancy:
    """Who holds a slot and who queues, across the snapshots of every stack sharing the backend."""
    in_flight: set[tuple[str, str, str]] = set()
    queued: list[tuple[int, str, str, str]] = []
    for snap in snapshots:
        for (workflow, server), records in _servers(snap).items():
            if holds_slot(records):
                in_flight.add((snap.stack, workflow, server))
            elif any(r.status is StepStatus.QUEUED for r in records):
                queued.append((snap.workflow_order.get(workflow, 1 << 62), snap.stack, workflow, server))
    return Occupancy(frozenset(in_flight), tuple(sorted(queued)))
