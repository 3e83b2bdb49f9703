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


def open_store(path: Path | str) -> StateStore:
    """Open the state backend at `path`: a SQLite file, or PostgreSQL for a postgresql:// URL (no password in
    it: libpq reads PGPASSWORD, ~/.pgpass or a service file)."""
    if is_url(path):
        from mgc_iac.state.postgres import PostgresStore

        return PostgresStore(str(path))
    return SQLiteStore(path)


def state_exists(path: Path | str) -> bool:
    """Whether there is recorded state to read (a server always is; a SQLite file only once written)."""
    return is_url(path) or Path(path).exists()


__all__ = ["STATE_ENV", "ApprovalRecord", "JournalEntry", "LockInfo", "ResourceRecord", "SQLiteStore", "Snapshot",
           "SourceRecord", "StateStore", "StepRecord", "StepStatus", "Transaction", "default_state_path",
           "is_url", "open_store", "state_exists"]
