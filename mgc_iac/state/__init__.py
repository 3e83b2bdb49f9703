"""Recorded state: resources, step progress, the journal, approvals and the writer lock."""

from __future__ import annotations

import os
from pathlib import Path

from mgc_iac._lazy import by_module, lazy_exports
from mgc_iac.state.empty import EmptyStore
from mgc_iac.state.holder import now
from mgc_iac.state.location import STATE_ENV, require_state
from mgc_iac.state.model import (
    AppliedRecord,
    ApprovalRecord,
    JournalEntry,
    ResourceRecord,
    Snapshot,
    SourceRecord,
    StepRecord,
    StepStatus,
)
from mgc_iac.state.sqlite import SQLiteStore
from mgc_iac.state.store import LockInfo, SlotRequest, StateStore, Transaction


def is_url(location: Path | str) -> bool:
    return isinstance(location, str) and location.startswith(("postgres://", "postgresql://"))


def default_state_path(stack_dir: Path, configured: str | None = None, url: str | None = None) -> Path | str:
    """Where a stack's state lives: $MGC_IAC_STATE (a path or a postgresql:// URL), else the spec's `state.url`,
    else its `state.path`, else `<stack dir>/../.mgc-iac/state.db` — so the stacks of one repository share a
    backend (and MAC checks)."""
    env = os.environ.get(STATE_ENV)
    if env:
        return env if is_url(env) else Path(env).expanduser()
    if url:
        return url
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else (stack_dir / path)
    return stack_dir.resolve().parent / ".mgc-iac" / "state.db"


def open_store(path: Path | str, *, read_only: bool = False) -> StateStore:
    """Open the state backend at `path`: a SQLite file, or PostgreSQL for a postgresql:// URL (no password in
    it: libpq reads PGPASSWORD, ~/.pgpass or a service file).

    `read_only` (plan, validate, status, report): nothing is created, upgraded or written, and a location that
    holds no state yet opens as an EmptyStore. A PostgreSQL role granted SELECT only is enough."""
    if is_url(path):
        from mgc_iac.state.postgres import PostgresStore, display

        store = PostgresStore(str(path), read_only=read_only)
        if read_only and store.empty:
            store.close()
            return EmptyStore(display(str(path)))
        return store
    if read_only:
        if not Path(path).exists():
            return EmptyStore(path)
        local = SQLiteStore(path, read_only=True)
        if local.empty:
            local.close()
            return EmptyStore(path)
        return local
    return SQLiteStore(path)


def open_for_writing(path: Path | str, *, new_state: bool = False) -> StateStore:
    """The store a writing command (apply, approve, retry) opens: in CI, a location that holds no state is
    refused before anything is created there, unless `new_state` (state/location.py)."""
    probe = open_store(path, read_only=True)
    try:
        require_state(path, probe, new_state=new_state)
    finally:
        probe.close()
    return open_store(path)


def state_exists(path: Path | str) -> bool:
    """Whether there is recorded state to read (a server always is; a SQLite file only once written)."""
    return is_url(path) or Path(path).exists()


__all__ = ["STATE_ENV", "AppliedRecord", "ApprovalRecord", "EmptyStore", "JournalEntry", "LockInfo",
           "ResourceRecord", "SQLiteStore", "SlotRequest", "Snapshot", "SourceRecord", "StateStore", "StepRecord",
           "StepStatus", "Transaction", "default_state_path", "is_url", "now", "open_for_writing", "open_store",
           "require_state", "state_exists"]


# the rest of the folder's public surface, resolved on first use: `state migrate`'s copy, who holds a lock, the
# canonical JSON the planner compares records in
_LAZY = by_module({
    "mgc_iac.state.locks": "why_held",
    "mgc_iac.state.migrate": "copy_stacks differences",
    "mgc_iac.state.model": "canonical_json step_statuses",
})
__all__ = [*__all__, *sorted(_LAZY)]
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
