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
from typing import TYPE_CHECKING, Any

from mgc_iac.state.model import (
    AppliedRecord,
    ApprovalRecord,
    JournalEntry,
    ResourceRecord,
    Snapshot,
    SourceRecord,
    StackExport,
    StepRecord,
)

if TYPE_CHECKING:
    from mgc_iac.cloud import LimiterPeer


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
    def delete_steps(self, workflow: str, server: str) -> None:
        """Forget every step record of one server (it left the spec, or moved to another address)."""

    @abstractmethod
    def journal(self, address: str, phase: str, detail: Mapping[str, Any] | None = None) -> None: ...

    @abstractmethod
    def set_sources(self, sources: list[SourceRecord]) -> None:
        """Replace the stack's list of sources, claiming their MACs account-wide.

        Raises MacConflictError (naming the MAC, the other stack and its source) when a MAC is recorded for
        ANOTHER stack of this backend; nothing is written then (the transaction rolls back). The check and the
        write must be atomic across processes: two applies of different stacks racing for one MAC, each
        holding only its own stack lock, must not both succeed (SQLite: BEGIN IMMEDIATE serializes writers;
        PostgreSQL: a UNIQUE constraint on the MAC, or a backend-wide advisory lock around check and write).
        """

    @abstractmethod
    def register_workflows(self, names: list[str]) -> None:
        """Give new workflows their account-wide creation order (the queue order)."""

    @abstractmethod
    def add_approval(self, record: ApprovalRecord) -> None:
        """Record an approval (with its `signature` and `signed_gates`). Does not move the serial."""

    @abstractmethod
    def add_plan_signature(self, spec_digest: str, principal: str, signature: str) -> None:
        """Record that `principal` signed (plan --sign-key) a plan of this spec digest: that principal is the
        plan's author for the approval policy. Does not move the serial. Re-adding the same row is a no-op."""

    @abstractmethod
    def record_applied(self, record: AppliedRecord) -> None:
        """Record what this apply runs with (spec digest, approval policy in force). Does not move the serial."""

    @abstractmethod
    def claim_notification(self, key: str, detail: Mapping[str, Any] | None = None) -> bool:
        """Journal a notification by its idempotency key BEFORE it is sent: True the first time `key` is claimed,
        False when it was claimed before (it went out, or a crash came while sending: never send it twice).
        Does not move the serial (a moving serial would change the digest approvals bind to)."""

    @abstractmethod
    def release_notification(self, key: str) -> None:
        """Undo a claim whose send failed with an error (so the next apply tries it again). No serial move."""


class StateStore(ABC):
    """Recorded state for every stack sharing one backend."""

    @abstractmethod
    def environment_id(self) -> str:
        """A random id given to the backend when it is created (never changed, never reused): what approvals
        and plan signatures are bound to, so an approvals file copied to another backend approves nothing."""

    @abstractmethod
    def plan_signatures(self, stack: str, spec_digest: str) -> list[tuple[str, str]]:
        """(principal, signature) of every recorded plan signature of `spec_digest` (see add_plan_signature)."""

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
    def lock_info(self, stack: str) -> LockInfo | None:
        """The stack's lock with its id, or None. Whether it may be removed is mgc_iac.state.locks' policy."""

    @abstractmethod
    def force_unlock(self, stack: str, lock_id: str | None = None) -> LockInfo | None:
        """Remove the stack's lock and return what it was (None when no lock was held). With `lock_id`, remove
        it only if it is that lock (compare-and-delete: a lock taken since by another apply stays); the CLI
        always passes the id of the lock it judged (state unlock refuses a live holder without --force ID)."""

    @abstractmethod
    def approvals(self, stack: str) -> list[ApprovalRecord]: ...

    @abstractmethod
    def last_applied(self, stack: str) -> AppliedRecord | None:
        """What the stack's last apply ran with (see Transaction.record_applied); None before the first."""

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

    def limiter_peer(self) -> LimiterPeer | None:
        """Where the rate limiters of the applies on this backend share what they learn (mgc_iac/cloud/_shared.py);
        None: one apply at a time (SQLite), nothing to share."""
        return None

    @abstractmethod
    def close(self) -> None: ...
