"""The account-wide cap on concurrent migrations (MgC: 1,000 by default), over every stack in the backend.

A server holds a migration slot from its first started step until its last step is done: servers waiting at
a gate or failed still hold theirs. Servers beyond the cap wait at their first step (QUEUED) and start in
the order their workflows were created (the backend's account-wide workflow sequence).

The count and the queue live in the state backend (StateStore.claim_slots, serialized across processes), so
several applies on several stacks — on one machine with SQLite, on any runner with PostgreSQL — never hold
more than the cap between them, and the servers waiting in live applies start first-in first-out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mgc_iac.plan import ServerChange, StepAction
from mgc_iac.state import SlotRequest, StateStore

if TYPE_CHECKING:
    from collections.abc import Iterable

def needs_slot(change: ServerChange) -> bool:
    """A server with nothing left to run (all done or skipped) does not need a migration slot."""
    return any(s.action in (StepAction.RUN, StepAction.WAIT) for s in change.steps)


@dataclass(frozen=True)
class Claimed:
    granted: list[Any]                 # this apply's servers that got a slot now
    queued: list[tuple[Any, int]]      # (server, queue position) of those still waiting
    others_running: bool               # another live apply holds slots: one may free while we wait


class SlotQueue:
    """This apply's servers that need a slot, in FIFO order (workflow creation seq, then plan order)."""

    def __init__(self, store: StateStore, stack: str, cap: int, servers: Iterable[Any], order: dict[str, int],
                 held: set[tuple[str, str]]) -> None:
        self.store, self.stack, self.cap = store, stack, cap
        self.holding: list[Any] = []
        self.pending: dict[tuple[str, str], tuple[Any, SlotRequest]] = {}
        self._order, self._added = order, 1 << 30  # servers added later queue after the first ones
        for index, server in enumerate(servers):
            key = (server.change.workflow, server.change.server)
            if key in held or not needs_slot(server.change):
                self.holding.append(server)
            else:
                self.pending[key] = (server, SlotRequest(*key, (order.get(key[0], 1 << 62), index)))

    def add(self, server: Any) -> None:
        """A server that may start only now (its wave was released): it queues for a slot like the others."""
        key = (server.change.workflow, server.change.server)
        self._added += 1
        self.pending[key] = (server, SlotRequest(*key, (self._order.get(key[0], 1 << 62), self._added)))

    def claim(self) -> Claimed:
        if not self.pending:
            return Claimed([], [], False)
        claim = self.store.claim_slots(self.stack, [r for _, r in self.pending.values()], self.cap)
        granted = [self.pending.pop(key)[0] for key in claim.granted]
        queued = sorted(((self.pending[key][0], pos) for key, pos in claim.positions.items()), key=lambda q: q[1])
        return Claimed(granted, queued, claim.others_running)
