"""The embedded state store: one SQLite file (WAL) shared by every stack that points at it."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mgc_iac._gc import gc_paused
from mgc_iac.errors import StateError, StateLockedError, UserError
from mgc_iac.state.holder import allot, locked_message, mac_conflict, new_holder, now
from mgc_iac.state.model import (
    AppliedRecord,
    ApprovalRecord,
    JournalEntry,
    RecordedResources,
    ResourceRecord,
    Snapshot,
    SourceRecord,
    StackExport,
    StepRecord,
    StepStatus,
    canonical_json,
)
from mgc_iac.state.store import LockInfo, SlotClaim, SlotRequest, StateStore, Transaction

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


_STATUS = {s.value: s for s in StepStatus}  # enum lookup by value, without the Enum call's overhead
_IDLE = (StepStatus.PENDING, StepStatus.QUEUED)
_FINAL = "MigrationTaskClear"


_dump = canonical_json  # what RecordedResources.attrs_text compares against


class SQLiteStore(StateStore):
    """Transactions are `BEGIN IMMEDIATE` (one writer at a time); WAL keeps readers unblocked."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        """`read_only`: open an existing store without creating, upgrading or writing anything (plan, status)."""
        self.path = Path(path)
        self.read_only = read_only
        self._mutex = threading.RLock()
        self._held: dict[str, tuple[LockInfo, int]] = {}  # stack -> (lock, depth): re-entrant in this process
        if read_only:
            self._open_read_only()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives a killed process (only power loss can drop the last commits)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._upgrade()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot open the state store {self.path}: {exc}") from exc

    def _open_read_only(self) -> None:
        try:
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA query_only=ON")
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot read the state store {self.path}: {exc}") from exc
        version = int(row[0]) if row else 0
        if version != SCHEMA_VERSION:
            self._db.close()
            raise StateError(f"{self.path} is at state schema {version}, this mgc-iac reads {SCHEMA_VERSION}; a "
                             "read-only command never upgrades it: run `mgc-iac apply` once with this version (or "
                             "use the version that wrote it)")

    def _writable(self) -> None:
        if self.read_only:
            raise StateError(f"the state {self.path} is open read-only: this command never writes it")

    def _upgrade(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
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

    # --- reads ------------------------------------------------------------------------------------------

    def environment_id(self) -> str:
        with self._mutex:
            return str(self._db.execute("SELECT value FROM meta WHERE key='environment_id'").fetchone()[0])

    def last_applied(self, stack: str) -> AppliedRecord | None:
        with self._mutex:
            row = self._db.execute("SELECT spec_digest, policy, at, git_commit FROM applied WHERE stack=?",
                                   (stack,)).fetchone()
        return AppliedRecord(row[0], json.loads(row[1]), row[2], row[3]) if row else None

    def plan_signatures(self, stack: str, spec_digest: str) -> list[tuple[str, str]]:
        with self._mutex:
            rows = self._db.execute("SELECT principal, signature FROM plan_signatures WHERE stack=? AND spec_digest=?",
                                    (stack, spec_digest)).fetchall()
        return [(p, sig) for p, sig in rows]

    def snapshot(self, stack: str) -> Snapshot:
        with self._mutex, gc_paused():  # hundreds of thousands of acyclic records: no collector passes
            cur = self._db.cursor()
            cur.execute("BEGIN")
            try:
                serial = self._serial(cur, stack)
                resources = RecordedResources({
                    addr: (kind, server, wf, attrs, outputs)
                    for addr, kind, wf, server, attrs, outputs in cur.execute(
                        "SELECT address, kind, workflow, server, attrs, outputs FROM resources WHERE stack=?",
                        (stack,))
                })
                steps = {
                    gate: StepRecord(wf, server, step, _STATUS[status], attempt,
                                     {} if detail == "{}" else json.loads(detail), at)
                    for gate, wf, server, step, status, attempt, detail, at in cur.execute(
                        "SELECT gate, workflow, server, step, status, attempt, detail, updated_at FROM steps "
                        "WHERE stack=?", (stack,))
                }
                order = dict(cur.execute("SELECT name, seq FROM workflows WHERE stack=?", (stack,)).fetchall())
            finally:
                cur.execute("COMMIT")
        return Snapshot(stack, serial, resources, steps, order)

    @staticmethod
    def _serial(cur: sqlite3.Cursor, stack: str) -> int:
        row = cur.execute("SELECT serial FROM stacks WHERE name=?", (stack,)).fetchone()
        return int(row[0]) if row else 0

    def serial(self, stack: str) -> int:
        with self._mutex:
            return self._serial(self._db.cursor(), stack)

    def approvals(self, stack: str) -> list[ApprovalRecord]:
        with self._mutex:
            rows = self._db.execute(
                "SELECT gate, approver, plan_digest, at, via, signature, signed_gates FROM approvals WHERE stack=? "
                "ORDER BY at, gate", (stack,)).fetchall()
        return [ApprovalRecord(g, a, d, at, via, sig, tuple(json.loads(signed)))
                for g, a, d, at, via, sig, signed in rows]

    def journal(self, stack: str, limit: int | None = None) -> list[JournalEntry]:
        with self._mutex:
            rows = self._db.execute(
                "SELECT seq, stack, address, phase, at, detail FROM journal WHERE stack=? ORDER BY seq DESC LIMIT ?",
                (stack, -1 if limit is None else limit)).fetchall()
        return [JournalEntry(s, st, a, p, at, json.loads(d)) for s, st, a, p, at, d in reversed(rows)]

    def macs_elsewhere(self, stack: str) -> dict[str, tuple[str, str]]:
        with self._mutex:
            rows = self._db.execute("SELECT mac, stack, name FROM sources WHERE stack<>?", (stack,)).fetchall()
        return {mac: (st, name) for mac, st, name in rows}

    def stacks(self) -> list[str]:
        with self._mutex:
            return [r[0] for r in self._db.execute("SELECT name FROM stacks ORDER BY name")]

    # --- writes -----------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, stack: str) -> Iterator[Transaction]:
        self._writable()
        with self._mutex:
            cur = self._db.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StateError(f"the state store {self.path} is busy: {exc}") from exc
            txn = _SQLiteTransaction(cur, stack)
            try:
                yield txn
                if txn.dirty:
                    cur.execute(
                        "INSERT INTO stacks (name, serial, updated_at) VALUES (?, 1, ?) "
                        "ON CONFLICT(name) DO UPDATE SET serial=serial+1, updated_at=excluded.updated_at",
                        (stack, now()))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

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
        with self._mutex:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                held = self._lock_row(cur, stack)
                if held is not None and not _is_stale(held):
                    raise StateLockedError(locked_message(held))
                cur.execute("INSERT OR REPLACE INTO locks (stack, pid, host, since, operation, token, runner) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (stack, info.pid, info.host, info.since, operation, info.lock_id, info.runner))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        self._held[stack] = (info, 1)
        try:
            yield info
        finally:
            del self._held[stack]
            with self._mutex:
                self._db.execute("DELETE FROM locks WHERE stack=? AND token=?", (stack, info.lock_id))

    @staticmethod
    def _lock_row(cur: sqlite3.Cursor, stack: str) -> LockInfo | None:
        row = cur.execute("SELECT stack, pid, host, since, operation, runner, token FROM locks WHERE stack=?",
                          (stack,)).fetchone()
        return LockInfo(*row) if row else None

    def lock_info(self, stack: str) -> LockInfo | None:
        with self._mutex:
            return self._lock_row(self._db.cursor(), stack)

    def force_unlock(self, stack: str, lock_id: str | None = None) -> LockInfo | None:
        self._writable()
        with self._mutex:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:  # compare-and-delete: a lock taken since by another apply (another id) stays
                held = self._lock_row(cur, stack)
                if held is not None and (lock_id is None or held.lock_id == lock_id):
                    cur.execute("DELETE FROM locks WHERE stack=? AND token=?", (stack, held.lock_id))
                else:
                    held = None
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return held

    # --- the account-wide cap ----------------------------------------------------------------------------

    def slots(self, stack: str) -> set[tuple[str, str]]:
        with self._mutex:
            return set(self._db.execute("SELECT workflow, server FROM slots WHERE stack=?", (stack,)).fetchall())

    def _live(self, cur: sqlite3.Cursor) -> set[str]:
        """Stacks whose lock is held by a live process (what may keep a place in the FIFO)."""
        return {r[0] for r in cur.execute("SELECT stack, pid, host, since, operation FROM locks").fetchall()
                if not _is_stale(LockInfo(*r))}

    def claim_slots(self, stack: str, requests: list[SlotRequest], cap: int) -> SlotClaim:
        self._writable()
        with self._mutex:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")  # one writer at a time: the count and the queue are consistent
            try:
                cur.execute("DELETE FROM slot_queue WHERE stack=?", (stack,))
                mine = set(cur.execute("SELECT workflow, server FROM slots WHERE stack=?", (stack,)).fetchall())
                wanted = [r for r in requests if (r.workflow, r.server) not in mine]
                held = cur.execute("SELECT count(*) FROM slots").fetchone()[0]
                live = self._live(cur) - {stack}
                others = [((seq, o), st, wf, sv) for seq, o, st, wf, sv in cur.execute(
                    "SELECT wf_seq, ord, stack, workflow, server FROM slot_queue").fetchall() if st in live]
                granted, positions = allot(cap - held, stack, wanted, others)
                when = now()
                cur.executemany("INSERT OR IGNORE INTO slots VALUES (?, ?, ?, ?)",
                                [(stack, w, s, when) for w, s in granted])
                by_key = {(r.workflow, r.server): r for r in wanted}
                cur.executemany("INSERT INTO slot_queue VALUES (?, ?, ?, ?, ?, ?)",
                                [(stack, w, s, *by_key[(w, s)].order, p) for (w, s), p in positions.items()])
                running = any(st in live for (st,) in cur.execute("SELECT DISTINCT stack FROM slots WHERE stack<>?",
                                                                   (stack,)).fetchall())
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return SlotClaim(tuple(granted), positions, held + len(granted), running)

    def leave_queue(self, stack: str) -> None:
        self._writable()
        with self._mutex:
            self._db.execute("DELETE FROM slot_queue WHERE stack=?", (stack,))

    # --- copying ----------------------------------------------------------------------------------------

    def export_stack(self, stack: str) -> StackExport:
        with self._mutex:
            db = self._db
            db.execute("BEGIN")
            try:
                return StackExport(
                    stack, self._serial(db.cursor(), stack),
                    [ResourceRecord(a, k, w, s, json.loads(at), json.loads(o)) for a, k, w, s, at, o in db.execute(
                        "SELECT address, kind, workflow, server, attrs, outputs FROM resources WHERE stack=? "
                        "ORDER BY address", (stack,))],
                    [StepRecord(w, s, st, _STATUS[status], att, json.loads(d), u) for w, s, st, status, att, d, u in
                     db.execute("SELECT workflow, server, step, status, attempt, detail, updated_at FROM steps "
                                "WHERE stack=? ORDER BY gate", (stack,))],
                    db.execute("SELECT seq, name FROM workflows WHERE stack=? ORDER BY seq", (stack,)).fetchall(),
                    [SourceRecord(stack, n, m) for n, m in db.execute(
                        "SELECT name, mac FROM sources WHERE stack=? ORDER BY name", (stack,))],
                    [ApprovalRecord(*r) for r in db.execute(
                        "SELECT gate, approver, plan_digest, at, via FROM approvals WHERE stack=? ORDER BY at, gate",
                        (stack,))],
                    [JournalEntry(s, st, a, p, at, json.loads(d)) for s, st, a, p, at, d in db.execute(
                        "SELECT seq, stack, address, phase, at, detail FROM journal WHERE stack=? ORDER BY seq",
                        (stack,))],
                    self.last_applied(stack))
            finally:
                db.execute("COMMIT")

    def import_stacks(self, exports: list[StackExport]) -> None:
        self._writable()
        with self._mutex:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for e in exports:
                    if self._serial(cur, e.stack) or cur.execute(
                            "SELECT 1 FROM steps WHERE stack=? LIMIT 1", (e.stack,)).fetchone():
                        raise UserError(f"stack `{e.stack}` already has state in {self.path}; nothing was copied")
                for _, stack, name in sorted((seq, e.stack, n) for e in exports for seq, n in e.workflows):
                    cur.execute("INSERT INTO workflows (stack, name) VALUES (?, ?)", (stack, name))
                for e in exports:
                    txn = _SQLiteTransaction(cur, e.stack)
                    for r in e.resources:
                        txn.put_resource(r)
                    for st in e.steps:
                        txn.put_step(st)
                    for a in e.approvals:
                        txn.add_approval(a)
                    if e.applied is not None:
                        txn.record_applied(e.applied)
                    txn.set_sources(e.sources)
                    cur.executemany("INSERT INTO journal (stack, address, phase, at, detail) VALUES (?, ?, ?, ?, ?)",
                                    [(e.stack, j.address, j.phase, j.at, _dump(j.detail)) for j in e.journal])
                    cur.execute("INSERT INTO stacks VALUES (?, ?, ?)", (e.stack, e.serial, now()))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._mutex:
            self._db.close()


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


class _SQLiteTransaction(Transaction):
    def __init__(self, cur: sqlite3.Cursor, stack: str) -> None:
        self._cur = cur
        self._stack = stack
        self.dirty = False

    def put_resource(self, record: ResourceRecord) -> None:
        self.dirty = True
        self._cur.execute(
            "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self._stack, record.address, record.kind, record.workflow, record.server, _dump(record.attrs),
             _dump(record.outputs)))

    def delete_resource(self, address: str) -> None:
        self.dirty = True
        self._cur.execute("DELETE FROM resources WHERE stack=? AND address=?", (self._stack, address))

    def put_step(self, record: StepRecord) -> None:
        self.dirty = True
        self._cur.execute(
            "INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self._stack, record.gate, record.workflow, record.server, record.step, record.status.value,
             record.attempt, _dump(record.detail), record.updated_at or now()))
        key = (self._stack, record.workflow, record.server)
        if record.step == _FINAL and record.status in (StepStatus.DONE, StepStatus.SKIPPED):
            self._cur.execute("DELETE FROM slots WHERE stack=? AND workflow=? AND server=?", key)
        elif record.status not in _IDLE:  # a server that started holds its slot (claimed before, or taken here)
            self._cur.execute("INSERT OR IGNORE INTO slots VALUES (?, ?, ?, ?)", (*key, now()))

    def delete_steps(self, workflow: str, server: str) -> None:
        self.dirty = True
        for table in ("steps", "slots", "slot_queue"):  # a server that left the spec holds no slot either
            self._cur.execute(f"DELETE FROM {table} WHERE stack=? AND workflow=? AND server=?",
                              (self._stack, workflow, server))

    def journal(self, address: str, phase: str, detail: Mapping[str, Any] | None = None) -> None:
        self.dirty = True
        self._cur.execute("INSERT INTO journal (stack, address, phase, at, detail) VALUES (?, ?, ?, ?, ?)",
                          (self._stack, address, phase, now(), _dump(dict(detail or {}))))

    def set_sources(self, sources: list[SourceRecord]) -> None:
        current = set(self._cur.execute("SELECT name, mac FROM sources WHERE stack=?", (self._stack,)).fetchall())
        wanted = {(s.name, s.mac) for s in sources}
        if current == wanted:
            return
        macs = [m for _, m in wanted]
        taken = [row for i in range(0, len(macs), 500) for row in self._cur.execute(
            f"SELECT mac, stack, name FROM sources WHERE stack<>? AND mac IN ({','.join('?' * len(macs[i:i + 500]))})",
            (self._stack, *macs[i:i + 500])).fetchall()]
        if taken:
            from mgc_iac.errors import MacConflictError

            raise MacConflictError(mac_conflict(self._stack, wanted, taken))
        self.dirty = True
        self._cur.execute("DELETE FROM sources WHERE stack=?", (self._stack,))
        self._cur.executemany("INSERT INTO sources VALUES (?, ?, ?)", [(self._stack, n, m) for n, m in wanted])

    def register_workflows(self, names: list[str]) -> None:
        for name in names:
            self._cur.execute("INSERT OR IGNORE INTO workflows (stack, name) VALUES (?, ?)", (self._stack, name))
            if self._cur.rowcount:
                self.dirty = True

    def add_approval(self, record: ApprovalRecord) -> None:
        # approvals are not infrastructure state: they do not move the serial, so approving a plan's gates
        # leaves that plan current (its digest and serial still match)
        self._cur.execute("INSERT OR REPLACE INTO approvals (stack, gate, approver, plan_digest, at, via, signature, "
                          "signed_gates) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (self._stack, record.gate, record.approver, record.plan_digest, record.at, record.via,
                           record.signature, json.dumps(list(record.signed_gates))))

    def record_applied(self, record: AppliedRecord) -> None:
        # not infrastructure: the serial (hence the digest approvals bind to) does not move
        self._cur.execute("INSERT OR REPLACE INTO applied VALUES (?, ?, ?, ?, ?)",
                          (self._stack, record.spec_digest, _dump(record.policy), record.at or now(),
                           record.git_commit))

    def add_plan_signature(self, spec_digest: str, principal: str, signature: str) -> None:
        self._cur.execute("INSERT OR IGNORE INTO plan_signatures VALUES (?, ?, ?, ?)",
                          (self._stack, spec_digest, principal, signature))

    def claim_notification(self, key: str, detail: Mapping[str, Any] | None = None) -> bool:
        self._cur.execute("INSERT OR IGNORE INTO notifications VALUES (?, ?, ?, ?)",
                          (self._stack, key, now(), _dump(dict(detail or {}))))
        return bool(self._cur.rowcount)

    def release_notification(self, key: str) -> None:
        self._cur.execute("DELETE FROM notifications WHERE stack=? AND key=?", (self._stack, key))
