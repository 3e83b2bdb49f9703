"""The state store interface: what the planner, the engine and the CLI may ask of recorded state.

SQLite implements it (state/sqlite.py); a PostgreSQL store for teams sharing state across CI runners
implements the same methods. Every write happens inside `transaction()`; a committed transaction that
changed anything increases the stack's serial by one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mgc_iac.state.model import (
    ApprovalRecord,
    JournalEntry,
    ResourceRecord,
    Snapshot,
    SourceRecord,
    StackExport,
    StepRecord,
)


@dataclass(frozen=True)
class LockInfo:
    stack: str
    pid: int
    host: str
    since: str
    operation: str
    runner: str = ""   # the CI job holding it ($GITHUB_RUN_ID, $CI_JOB_ID, ...), empty on a workstation
    lock_id: str = ""  # names this holding, for `state unlock --force LOCK_ID`

    def describe(self) -> str:
        """"pid N on host H (runner R) since T (operation), lock id L": who holds it, for a refusal."""
        runner = f" (runner {self.runner})" if self.runner else ""
        ident = f", lock id {self.lock_id}" if self.lock_id else ""
        return f"pid {self.pid} on host {self.host}{runner} since {self.since} ({self.operation}{ident})"


@dataclass(frozen=True)
class SlotRequest:
    """A server asking for one of the account-wide migration slots; `order` is its place in the FIFO
    (workflow creation seq, then its index in the plan)."""

    workflow: str
    server: str
    order: tuple[int, int]


@dataclass(frozen=True)
class SlotClaim:
    """What a claim got: the servers now holding a slot, the queue position of the others, how many slots
    the whole backend holds, and whether another live apply holds slots (so waiting can pay off)."""

    granted: tuple[tuple[str, str], ...]
    positions: dict[tuple[str, str], int]
    held: int
    others_running: bool


class Transaction(ABC):
    """Writes to one stack's state, committed together (or not at all)."""

    @abstractmethod
    def put_resource(self, record: ResourceRecord) -> None: ...

    @abstractmethod
    def delete_resource(self, address: str) -> None: ...

    @abstractmethod
    def put_step(self, record: StepRecord) -> None: ...

    @abstractmethod
    def journal(self, address: str, phase: str, detail: Mapping[str, Any] | None = None) -> None: ...

    @abstractmethod
    def set_sources(self, sources: list[SourceRecord]) -> None:
        """Replace the stack's list of sources (for account-wide MAC uniqueness)."""

    @abstractmethod
    def register_workflows(self, names: list[str]) -> None:
        """Give new workflows their account-wide creation order (the queue order)."""

    @abstractmethod
    def add_approval(self, record: ApprovalRecord) -> None: ...


class StateStore(ABC):
    """Recorded state for every stack sharing one backend."""

    @abstractmethod
    def snapshot(self, stack: str) -> Snapshot:
        """The stack's resources, steps, serial and workflow order, read consistently."""

    @abstractmethod
    def serial(self, stack: str) -> int: ...

    @abstractmethod
    @contextmanager
    def transaction(self, stack: str) -> Iterator[Transaction]: ...

    @abstractmethod
    @contextmanager
    def lock(self, stack: str, operation: str) -> Iterator[LockInfo]:
        """Hold the stack's writer lock; raise StateLockedError naming the holder if taken."""

    @abstractmethod
    def lock_info(self, stack: str) -> LockInfo | None: ...

    @abstractmethod
    def force_unlock(self, stack: str, lock_id: str | None = None) -> LockInfo | None:
        """Break the stack's lock (only the one named `lock_id` when given); returns what was held."""

    @abstractmethod
    def approvals(self, stack: str) -> list[ApprovalRecord]: ...

    @abstractmethod
    def journal(self, stack: str, limit: int | None = None) -> list[JournalEntry]: ...

    @abstractmethod
    def macs_elsewhere(self, stack: str) -> dict[str, tuple[str, str]]:
        """MAC -> (stack, source) for the sources of every OTHER stack in this backend."""

    @abstractmethod
    def stacks(self) -> list[str]: ...

    # --- the account-wide cap of concurrent migrations (engine/capacity.py), across processes -------------

    @abstractmethod
    def slots(self, stack: str) -> set[tuple[str, str]]:
        """(workflow, server) of the stack's servers holding a migration slot."""

    @abstractmethod
    def claim_slots(self, stack: str, requests: list[SlotRequest], cap: int) -> SlotClaim:
        """In one transaction serialized across processes: give slots to the first of `requests` in the
        account-wide FIFO (queued servers of other stacks whose apply is alive come first when older), queue
        the rest. A slot is released when the server's last step is recorded done (Transaction.put_step)."""

    @abstractmethod
    def leave_queue(self, stack: str) -> None:
        """This apply stops waiting: its queued servers no longer hold a place in the FIFO."""

    # --- copying state between backends (`state migrate`) -------------------------------------------------

    @abstractmethod
    def export_stack(self, stack: str) -> StackExport: ...

    @abstractmethod
    def import_stacks(self, exports: list[StackExport]) -> None:
        """Write whole stacks (refused when one exists here already), serials and workflow order kept."""

    @abstractmethod
    def close(self) -> None: ...
