"""A state location that holds nothing yet (no SQLite file, no schema in the database), opened read-only.

`plan`, `validate` and `status` read state and never write it (issue 19): where nothing was ever applied they
see this empty store instead of creating one. Every write is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mgc_iac.errors import StateError
from mgc_iac.state.model import AppliedRecord, ApprovalRecord, JournalEntry, Snapshot, StackExport
from mgc_iac.state.store import LockInfo, SlotClaim, SlotRequest, StateStore, Transaction


class EmptyStore(StateStore):
    read_only = True
    empty = True

    def __init__(self, location: Path | str) -> None:
        self.path = location

    def _refuse(self) -> StateError:
        return StateError(f"no state is recorded at {self.path} yet, and this command never creates it")

    def environment_id(self) -> str:
        raise StateError(f"no state is recorded at {self.path} yet: it gets its environment id at the first apply")

    def plan_signatures(self, stack: str, spec_digest: str) -> list[tuple[str, str]]:
        return []

    def snapshot(self, stack: str) -> Snapshot:
        return Snapshot.empty(stack)

    def serial(self, stack: str) -> int:
        return 0

    @contextmanager
    def transaction(self, stack: str) -> Iterator[Transaction]:
        raise self._refuse()
        yield  # pragma: no cover - a generator for @contextmanager

    @contextmanager
    def lock(self, stack: str, operation: str) -> Iterator[LockInfo]:
        raise self._refuse()
        yield  # pragma: no cover

    def lock_info(self, stack: str) -> LockInfo | None:
        return None

    def force_unlock(self, stack: str, lock_id: str | None = None) -> LockInfo | None:
        return None

    def approvals(self, stack: str) -> list[ApprovalRecord]:
        return []

    def last_applied(self, stack: str) -> AppliedRecord | None:
        return None

    def journal(self, stack: str, limit: int | None = None) -> list[JournalEntry]:
        return []

    def macs_elsewhere(self, stack: str) -> dict[str, tuple[str, str]]:
        return {}

    def stacks(self) -> list[str]:
        return []

    def slots(self, stack: str) -> set[tuple[str, str]]:
        return set()

    def claim_slots(self, stack: str, requests: list[SlotRequest], cap: int) -> SlotClaim:
        raise self._refuse()

    def leave_queue(self, stack: str) -> None:
        raise self._refuse()

    def export_stack(self, stack: str) -> StackExport:
        return StackExport(stack, 0, [], [], [], [], [], [])

    def import_stacks(self, exports: list[StackExport]) -> None:
        raise self._refuse()

    def close(self) -> None:
        pass
