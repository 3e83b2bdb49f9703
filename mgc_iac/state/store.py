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
    StepRecord,
)


@dataclass(frozen=True)
class LockInfo:
    stack: str
    pid: int
    host: str
    since: str
    operation: str


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
    def force_unlock(self, stack: str) -> LockInfo | None: ...

    @abstractmethod
    def approvals(self, stack: str) -> list[ApprovalRecord]: ...

    @abstractmethod
    def journal(self, stack: str, limit: int | None = None) -> list[JournalEntry]: ...

    @abstractmethod
    def macs_elsewhere(self, stack: str) -> dict[str, tuple[str, str]]:
        """MAC -> (stack, source) for the sources of every OTHER stack in this backend."""

    @abstractmethod
    def stacks(self) -> list[str]: ...

    @abstractmethod
    def close(self) -> None: ...
