"""The embedded state store: one SQLite file (WAL) shared by every stack that points at it."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mgc_iac.errors import StateError, StateLockedError
from mgc_iac.state._sql import Rows, SQLStore, Statements
from mgc_iac.state.holder import locked_message, new_holder
from mgc_iac.state.store import LockInfo

OPEN_TIMEOUT_SECONDS = 30.0  # how long opening waits for another process's lock (sqlite3's busy timeout too)

SCHEMA_VERSION = 4
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stacks (name TEXT PRIMARY KEY, serial INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
  stack TEXT NOT NULL, address TEXT NOT NULL, kind TEXT NOT NULL, workflow TEXT NOT NULL, server TEXT,
  attrs TEXT NOT NULL, outputs TEXT NOT NULL, PRIMARY KEY (stack, address));
CREATE TABLE IF NOT EXISTS steps (
  stack TEXT NOT NULL, gate TEXT NOT NULL, workflow TEXT NOT NULL, server TEXT NOT NULL, step TEXT NOT NULL,
  status TEXT NOT NULL, attempt INTEGER NOT NULL, detail TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (stack, gate));
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, stack TEXT NOT NULL, address TEXT NOT NULL, phase TEXT NOT NULL,
  at TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_stack ON journal (stack, seq);
CREATE TABLE IF NOT EXISTS approvals (
  stack TEXT NOT NULL, gate TEXT NOT NULL, approver TEXT NOT NULL, plan_digest TEXT NOT NULL, at TEXT NOT NULL,
  via TEXT NOT NULL, PRIMARY KEY (stack, gate, approver, plan_digest));
CREATE TABLE IF NOT EXISTS sources (stack TEXT NOT NULL, name TEXT NOT NULL, mac TEXT NOT NULL,
  PRIMARY KEY (stack, name));
CREATE INDEX IF NOT EXISTS sources_mac ON sources (mac);
CREATE TABLE IF NOT EXISTS workflows (seq INTEGER PRIMARY KEY AUTOINCREMENT, stack TEXT NOT NULL,
  name TEXT NOT NULL, UNIQUE (stack, name));
CREATE TABLE IF NOT EXISTS locks (stack TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL,
  since TEXT NOT NULL, operation TEXT NOT NULL, token TEXT NOT NULL);
"""
# upgrades from the version before (the token of a lock row is its lock id)
_MIGRATIONS = {
    2: """
ALTER TABLE locks ADD COLUMN runner TEXT NOT NULL DEFAULT '';
CREATE TABLE slots (stack TEXT NOT NULL, workflow TEXT NOT NULL, server TEXT NOT NULL, since TEXT NOT NULL,
  PRIMARY KEY (stack, workflow, server));
CREATE TABLE slot_queue (stack TEXT NOT NULL, workflow TEXT NOT NULL, server TEXT NOT NULL, wf_seq INTEGER NOT NULL,
  ord INTEGER NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (stack, workflow, server));
INSERT INTO slots SELECT stack, workflow, server, max(updated_at) FROM steps GROUP BY stack, workflow, server
  HAVING sum(status NOT IN ('pending', 'queued')) > 0
     AND sum(step = 'MigrationTaskClear' AND status IN ('done', 'skipped')) = 0;
""",
    # approvals carry their signature and the gates it covers; plan signatures; notifications sent (claimed once)
    3: """
ALTER TABLE approvals ADD COLUMN signature TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN signed_gates TEXT NOT NULL DEFAULT '[]';
CREATE TABLE IF NOT EXISTS plan_signatures (stack TEXT NOT NULL, spec_digest TEXT NOT NULL, principal TEXT NOT NULL,
  signature TEXT NOT NULL, PRIMARY KEY (stack, spec_digest, principal, signature));
CREATE TABLE IF NOT EXISTS notifications (stack TEXT NOT NULL, key TEXT NOT NULL, at TEXT NOT NULL,
  detail TEXT NOT NULL, PRIMARY KEY (stack, key));
""",
    # what the last apply ran with: the trusted approval policy (issue 19)
    4: """
CREATE TABLE IF NOT EXISTS applied (stack TEXT PRIMARY KEY, spec_digest TEXT NOT NULL, policy TEXT NOT NULL,
  at TEXT NOT NULL, git_commit TEXT NOT NULL DEFAULT '');
""",
}


class _Now(Statements):
    """SQLite runs every statement at once, inside the caller's BEGIN IMMEDIATE."""

    duplicate = sqlite3.IntegrityError

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self._cur = cur

    def write(self, sql: str, params: Sequence[Any]) -> None:
        self._cur.execute(sql, params)

    def write_many(self, sql: str, rows: list[Sequence[Any]]) -> None:
        self._cur.executemany(sql, rows)

    def read(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self._cur.execute(sql, params).fetchall()

    def count(self, sql: str, params: Sequence[Any]) -> int:
        return self._cur.execute(sql, params).rowcount


class SQLiteStore(SQLStore):
    """Transactions are `BEGIN IMMEDIATE` (one writer at a time); WAL keeps readers unblocked."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        """`read_only`: open an existing store without creating, upgrading or writing anything (plan, status)."""
        super().__init__()
        self.path = Path(path)
        self.read_only = read_only
        self.empty = False
        if read_only:
            self._open_read_only()
            return
        deadline = time.monotonic() + OPEN_TIMEOUT_SECONDS
        while True:
            db = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                                timeout=OPEN_TIMEOUT_SECONDS)
                self._db.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL survives a killed process (only power loss can drop the last commits)
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("PRAGMA foreign_keys=ON")
                self._upgrade()
                break
            except sqlite3.OperationalError as exc:
                if db is not None:
                    db.close()
                # two applies creating one new store: switching it to WAL needs the lock the other's creating
                # transaction holds, and SQLite refuses at once (waiting could deadlock): wait for it, open again
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise StateError(f"cannot open the state store {self.path}: {exc}") from exc
                time.sleep(0.05)
            except sqlite3.DatabaseError as exc:
                raise StateError(f"cannot open the state store {self.path}: {exc}") from exc
        self._mutex = threading.RLock()
        self._held: dict[str, tuple[LockInfo, int]] = {}  # stack -> (lock, depth): re-entrant in this process

    def _open_read_only(self) -> None:
        try:
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA query_only=ON")
            # no tables: a file another apply is creating right now (or an empty one) holds no state yet
            self.empty = not self._db.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
            row = None if self.empty else self._db.execute(
                "SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot read the state store {self.path}: {exc}") from exc
        self._mutex = threading.RLock()
        self._held: dict[str, tuple[LockInfo, int]] = {}
        if self.empty:
            return
        version = int(row[0]) if row else 0
        if version != SCHEMA_VERSION:
            self._db.close()
            raise StateError(f"{self.path} is at state schema {version}, this mgc-iac reads {SCHEMA_VERSION}; a "
                             "read-only command never upgrades it: run `mgc-iac apply` once with this version (or "
                             "use the version that wrote it)")

    def _upgrade(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # the tables in the same transaction: a reader sees a store with none of them or all of them
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', '1')")
            version = int(self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StateError(f"{self.path} was written by a newer mgc-iac (schema {version}); upgrade mgc-iac")
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(target),))
            # the backend's identity, made once when it is created: approvals are bound to it
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('environment_id', ?)", (uuid.uuid4().hex,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # --- the engine's part of the SQL layer ---------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        with self._mutex:
            return self._db.execute(sql, params).fetchall()

    @contextmanager
    def _reading(self) -> Iterator[Callable[[str, Sequence[Any]], Rows]]:
        with self._mutex:
            cur = self._db.cursor()
            cur.execute("BEGIN")
            try:
                yield lambda sql, params=(): cur.execute(sql, params).fetchall()
            finally:
                cur.execute("COMMIT")

    @contextmanager
    def _writing(self, *, serialized: bool = False) -> Iterator[Statements]:
        with self._mutex:  # BEGIN IMMEDIATE serializes every writer, so `serialized` needs nothing more
            cur = self._db.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StateError(f"the state store {self.path} is busy: {exc}") from exc
            try:
                yield _Now(cur)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def _live_stacks(self, run: Statements) -> set[str]:
        return {r[0] for r in run.read("SELECT stack, pid, host, since, operation FROM locks")
                if not _is_stale(LockInfo(*r))}

    def environment_id(self) -> str:
        return str(self._rows("SELECT value FROM meta WHERE key='environment_id'")[0][0])

    # --- the stack lock: a row naming its holder ------------------------------------------------------------

    @contextmanager
    def lock(self, stack: str, operation: str) -> Iterator[LockInfo]:
        self._writable()
        if stack in self._held:  # this process holds it already (apply locks before planning, then runs)
            info, depth = self._held[stack]
            self._held[stack] = (info, depth + 1)
            try:
                yield info
            finally:
                self._held[stack] = (info, self._held[stack][1] - 1)
            return
        info = new_holder(stack, operation)
        with self._writing() as run:
            held = _lock_row(run.read, stack)
            if held is not None and not _is_stale(held):
                raise StateLockedError(locked_message(held))
            run.write("INSERT OR REPLACE INTO locks (stack, pid, host, since, operation, token, runner) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (stack, info.pid, info.host, info.since, operation, info.lock_id, info.runner))
        self._held[stack] = (info, 1)
        try:
            yield info
        finally:
            del self._held[stack]
            self._rows("DELETE FROM locks WHERE stack=? AND token=?", (stack, info.lock_id))

    def lock_info(self, stack: str) -> LockInfo | None:
        return _lock_row(self._rows, stack)

    def force_unlock(self, stack: str, lock_id: str | None = None) -> LockInfo | None:
        self._writable()
        with self._writing() as run:  # compare-and-delete: a lock taken since by another apply (another id) stays
            held = _lock_row(run.read, stack)
            if held is None or (lock_id is not None and held.lock_id != lock_id):
                return None
            run.write("DELETE FROM locks WHERE stack=? AND token=?", (stack, held.lock_id))
        return held

    def close(self) -> None:
        with self._mutex:
            self._db.close()


def _lock_row(read: Callable[[str, Sequence[Any]], Rows], stack: str) -> LockInfo | None:
    rows = read("SELECT stack, pid, host, since, operation, runner, token FROM locks WHERE stack=?", (stack,))
    return LockInfo(*rows[0]) if rows else None


def _is_stale(lock: LockInfo) -> bool:
    """A lock left by a dead process on this host (kill -9) does not block the next apply."""
    if lock.host != socket.gethostname():
        return False
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
