"""Recorded state: resources, step progress, the journal, approvals and the writer lock."""

from __future__ import annotations

import os
from pathlib import Path

from mgc_iac.state.model import (
    ApprovalRecord,
    JournalEntry,
    ResourceRecord,
    Snapshot,
    SourceRecord,
    StepRecord,
    StepStatus,
)
from mgc_iac.state.sqlite import SQLiteStore
from mgc_iac.state.store import LockInfo, StateStore, Transaction

STATE_ENV = "MGC_IAC_STATE"


def default_state_path(stack_dir: Path, configured: str | None = None) -> Path:
    """Where a stack's state lives: $MGC_IAC_STATE, else the spec's `state.path`, else
    `<stack dir>/../.mgc-iac/state.db` — so the stacks of one repository share a backend (and MAC checks)."""
    env = os.environ.get(STATE_ENV)
    if env:
        return Path(env).expanduser()
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else (stack_dir / path)
    return stack_dir.resolve().parent / ".mgc-iac" / "state.db"


def open_store(path: Path) -> StateStore:
    """Open the state backend at `path` (SQLite; a postgresql:// URL is for a future store)."""
    if str(path).startswith(("postgres://", "postgresql://")):
        from mgc_iac.errors import ConfigError

        raise ConfigError("the PostgreSQL state store is not implemented yet; use a SQLite path")
    return SQLiteStore(path)


__all__ = ["STATE_ENV", "ApprovalRecord", "JournalEntry", "LockInfo", "ResourceRecord", "SQLiteStore", "Snapshot",
           "SourceRecord", "StateStore", "StepRecord", "StepStatus", "Transaction", "default_state_path",
           "open_store"]
