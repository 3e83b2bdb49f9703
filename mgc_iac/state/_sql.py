"""The SQL both state stores share: every read and write of recorded state, written once.

SQLite (sqlite.py) and PostgreSQL (postgres.py) differ only in what `SQLStore` leaves to them: the connection
and its schema, how a consistent read and a serialized write begin, the stack lock (a row vs an advisory lock),
which stacks have a live apply, and how errors read. The statements use `?` placeholders and the
`INSERT ... ON CONFLICT` form that both engines speak (SQLite >= 3.24).
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from mgc_iac._gc import gc_paused
from mgc_iac.errors import MacConflictError, StateError, UserError
from mgc_iac.state.holder import allot, mac_conflict, now
from mgc_iac.state.model import (
    STEP_ROWS,
    AppliedRecord,
    ApprovalRecord,
    JournalEntry,
    RecordedResources,
    RecordedSteps,
    ResourceRecord,
    Snapshot,
    SourceRecord,
    StackExport,
    StepRecord,
    StepStatus,
    canonical_json,
)
from mgc_iac.state.store import SlotClaim, SlotRequest, StateStore, Transaction

_STATUS = {s.value: s for s in StepStatus}  # enum lookup by value, without the Enum call's overhead
_IDLE = (StepStatus.PENDING.value, StepStatus.QUEUED.value)
_FINAL = "MigrationTaskClear"  # a server's last step: recorded done, it gives back its migration slot
_CHUNK = 500  # bound parameters per IN (...) list

Rows = list[tuple[Any, ...]]


class Statements:
    """What a transaction runs its statements through. Writes may be deferred (PostgreSQL sends them in one
    round trip at commit); `read`, `count` and `write_many` run at once and see every earlier write."""

    duplicate: type[BaseException] = ()  # type: ignore[assignment]  # the engine's unique-violation error

    @abstractmethod
    def write(self, sql: str, params: Sequence[Any]) -> None: ...

    @abstractmethod
    def write_many(self, sql: str, rows: list[Sequence[Any]]) -> None: ...

    @abstractmethod
    def read(self, sql: str, params: Sequence[Any] = ()) -> Rows: ...

    @abstractmethod
    def count(self, sql: str, params: Sequence[Any]) -> int:
        """Run a write now and return how many rows it changed."""


class SQLTransaction(Transaction):
    """Writes to one stack's state (see Transaction), the same SQL on both engines."""

    def __init__(self, run: Statements, stack: str, holding: set[tuple[str, str, str]] | None = None) -> None:
        self._run = run
        self._stack = stack
        # servers this process recorded as holding a slot: their next steps need not claim it again (only the
        # holder of a stack's lock writes its steps, so nobody else releases them meanwhile)
        self._holding = holding if holding is not None else set()
        self.claimed: set[tuple[str, str, str]] = set()
        self.released: set[tuple[str, str, str]] = set()
        self.dirty = False

    def put_resource(self, record: ResourceRecord) -> None:
        self.dirty = True
        self._run.write(
            "INSERT INTO resources VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stack, address) DO UPDATE SET "
            "kind = excluded.kind, workflow = excluded.workflow, server = excluded.server, attrs = excluded.attrs, "
            "outputs = excluded.outputs",
            (self._stack, record.address, record.kind, record.workflow, record.server,
             canonical_json(record.attrs), canonical_json(record.outputs)))

    def delete_resource(self, address: str) -> None:
        self.dirty = True
        self._run.write("DELETE FROM resources WHERE stack = ? AND address = ?", (self._stack, address))

    def put_step(self, record: StepRecord) -> None:
        self.dirty = True
        status = record.status.value
        self._run.write(
            "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stack, gate) DO UPDATE SET "
            "status = excluded.status, attempt = excluded.attempt, detail = excluded.detail, "
            "updated_at = excluded.updated_at",
            (self._stack, record.gate, record.workflow, record.server, record.step, status, record.attempt,
             canonical_json(record.detail), record.updated_at or now()))
        key = (self._stack, record.workflow, record.server)
        if record.step == _FINAL and record.status in (StepStatus.DONE, StepStatus.SKIPPED):
            self._run.write("DELETE FROM slots WHERE stack = ? AND workflow = ? AND server = ?", key)
            self.released.add(key)
            self.claimed.discard(key)
        elif status not in _IDLE and key not in self._holding and key not in self.claimed:
            # a server that started holds its slot (claimed before, or taken here)
            self._run.write("INSERT INTO slots VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", (*key, now()))
            self.claimed.add(key)
            self.released.discard(key)

    def delete_steps(self, workflow: str, server: str) -> None:
        self.dirty = True
        key = (self._stack, workflow, server)
        for table in ("steps", "slots", "slot_queue"):  # a server that left the spec holds no slot either
            self._run.write(f"DELETE FROM {table} WHERE stack = ? AND workflow = ? AND server = ?", key)
        self.released.add(key)
        self.claimed.discard(key)

    def journal(self, address: str, phase: str, detail: Mapping[str, Any] | None = None) -> None:
        self.dirty = True
        self._run.write("INSERT INTO journal (stack, address, phase, at, detail) VALUES (?, ?, ?, ?, ?)",
                        (self._stack, address, phase, now(), canonical_json(dict(detail or {}))))

    def set_sources(self, sources: list[SourceRecord]) -> None:
        current = set(self._run.read("SELECT name, mac FROM sources WHERE stack = ?", (self._stack,)))
        wanted = {(s.name, s.mac) for s in sources}
        if current == wanted:
            return
        macs = sorted(m for _, m in wanted)
        taken = [row for i in range(0, len(macs), _CHUNK) for row in self._run.read(
            "SELECT mac, stack, name FROM sources WHERE stack <> ? AND mac IN "
            f"({','.join('?' * len(macs[i:i + _CHUNK]))})", (self._stack, *macs[i:i + _CHUNK]))]
        if taken:
            raise MacConflictError(mac_conflict(self._stack, wanted, taken))
        self.dirty = True
        self._run.write("DELETE FROM sources WHERE stack = ?", (self._stack,))
        try:  # PostgreSQL's unique constraint settles a race with another runner
            self._run.write_many("INSERT INTO sources VALUES (?, ?, ?)",
                                 [(self._stack, n, m) for n, m in sorted(wanted)])
        except self._run.duplicate as exc:
            raise MacConflictError(f"a MAC of stack `{self._stack}` was taken by another stack of this backend at the "
                                   f"same moment ({exc}); a MAC must be unique across every stack of the account: fix "
                                   "the inventory") from None

    def register_workflows(self, names: list[str]) -> None:
        for name in names:
            if self._run.count("INSERT INTO workflows (stack, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                               (self._stack, name)):
                self.dirty = True

    def add_approval(self, record: ApprovalRecord) -> None:
        # approvals are not infrastructure state: they do not move the serial, so approving a plan's gates
        # leaves that plan current (its digest and serial still match)
        self._run.write(
            "INSERT INTO approvals (stack, gate, approver, plan_digest, at, via, signature, signed_gates) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stack, gate, approver, plan_digest) DO UPDATE SET "
            "at = excluded.at, via = excluded.via, signature = excluded.signature, "
            "signed_gates = excluded.signed_gates",
            (self._stack, record.gate, record.approver, record.plan_digest, record.at, record.via, record.signature,
             json.dumps(list(record.signed_gates))))

    def record_applied(self, record: AppliedRecord) -> None:
        # not infrastructure: the serial (hence the digest approvals bind to) does not move
        self._run.write(
            "INSERT INTO applied (stack, spec_digest, policy, at, git_commit) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (stack) DO UPDATE SET spec_digest = excluded.spec_digest, policy = excluded.policy, "
            "at = excluded.at, git_commit = excluded.git_commit",
            (self._stack, record.spec_digest, canonical_json(record.policy), record.at or now(), record.git_commit))

    def add_plan_signature(self, spec_digest: str, principal: str, signature: str) -> None:
        self._run.write("INSERT INTO plan_signatures VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (self._stack, spec_digest, principal, signature))

    def claim_notification(self, key: str, detail: Mapping[str, Any] | None = None) -> bool:
        return bool(self._run.count("INSERT INTO notifications VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                    (self._stack, key, now(), canonical_json(dict(detail or {})))))

    def release_notification(self, key: str) -> None:
        self._run.write("DELETE FROM notifications WHERE stack = ? AND key = ?", (self._stack, key))

    def bump_serial(self) -> None:
        """A committed transaction that changed anything moves the stack's serial by one."""
        if self.dirty:
            self._run.write("INSERT INTO stacks (name, serial, updated_at) VALUES (?, 1, ?) ON CONFLICT (name) "
                            "DO UPDATE SET serial = stacks.serial + 1, updated_at = excluded.updated_at",
                            (self._stack, now()))


class SQLStore(StateStore):
    """Every method of the StateStore contract that is the same SQL on both engines."""

    path: Any  # what messages name: the SQLite file, or the PostgreSQL URL without its query
    read_only = False  # opened for plan, validate, status: every write is refused (issue 19)

    def __init__(self) -> None:
        self._holding: set[tuple[str, str, str]] = set()

    def _writable(self) -> None:
        if self.read_only:
            raise StateError(f"the state {self.path} is open read-only: this command never writes it")

    # --- what each engine provides ----------------------------------------------------------------------

    @abstractmethod
    def _rows(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """One statement on its own (autocommit), under the connection's mutex and the engine's error mapping."""

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Callable[[str, Sequence[Any]], Rows]]:
        """A consistent read of several statements: yields a function running one of them."""

    @abstractmethod
    def _writing(self, *, serialized: bool = False) -> AbstractContextManager[Statements]:
        """A write transaction, committed when the block ends, rolled back on an error. `serialized`: no other
        process's serialized write runs at the same time (the account-wide slots)."""

    @abstractmethod
    def _live_stacks(self, run: Statements) -> set[str]:
        """Stacks whose lock is held by a live apply (what may keep a place in the account-wide FIFO)."""

    # --- reads ------------------------------------------------------------------------------------------

    def last_applied(self, stack: str) -> AppliedRecord | None:
        rows = self._rows("SELECT spec_digest, policy, at, git_commit FROM applied WHERE stack = ?", (stack,))
        return AppliedRecord(rows[0][0], json.loads(rows[0][1]), rows[0][2], rows[0][3]) if rows else None

    def plan_signatures(self, stack: str, spec_digest: str) -> list[tuple[str, str]]:
        return [(p, sig) for p, sig in self._rows(
            "SELECT principal, signature FROM plan_signatures WHERE stack = ? AND spec_digest = ?",
            (stack, spec_digest))]

    def snapshot(self, stack: str) -> Snapshot:
        with self._reading() as read, gc_paused():  # hundreds of thousands of acyclic records: no collector passes
            serial = _serial(read, stack)
            resources = RecordedResources({  # each ResourceRecord parsed on access: a plan compares the JSON text
                row[0]: row for row in read(
                    "SELECT address, kind, workflow, server, attrs, outputs FROM resources WHERE stack = ?", (stack,))})
            steps = RecordedSteps({  # each StepRecord built on access: a plan reads only the statuses
                row[0]: row for row in read(STEP_ROWS, (stack,))})
            order = {name: int(seq) for name, seq in read("SELECT name, seq FROM workflows WHERE stack = ?", (stack,))}
        return Snapshot(stack, serial, resources, steps, order)

    def serial(self, stack: str) -> int:
        return _serial(self._rows, stack)

    def approvals(self, stack: str) -> list[ApprovalRecord]:
        return [ApprovalRecord(g, a, d, at, via, sig, tuple(json.loads(signed))) for g, a, d, at, via, sig, signed in
                self._rows("SELECT gate, approver, plan_digest, at, via, signature, signed_gates FROM approvals "
                           "WHERE stack = ? ORDER BY at, gate", (stack,))]

    def journal(self, stack: str, limit: int | None = None) -> list[JournalEntry]:
        sql = "SELECT seq, stack, address, phase, at, detail FROM journal WHERE stack = ? ORDER BY seq DESC"
        rows = self._rows(sql, (stack,)) if limit is None else self._rows(sql + " LIMIT ?", (stack, limit))
        return [JournalEntry(s, st, a, p, at, json.loads(d)) for s, st, a, p, at, d in reversed(rows)]

    def macs_elsewhere(self, stack: str) -> dict[str, tuple[str, str]]:
        return {mac: (st, name) for mac, st, name in
                self._rows("SELECT mac, stack, name FROM sources WHERE stack <> ?", (stack,))}

    def stacks(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT name FROM stacks ORDER BY name")]

    # --- writes -----------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, stack: str) -> Iterator[Transaction]:
        self._writable()
        with self._writing() as run:
            txn = SQLTransaction(run, stack, self._holding)
            yield txn
            txn.bump_serial()
        self._holding |= txn.claimed
        self._holding -= txn.released

    # --- the account-wide cap ----------------------------------------------------------------------------

    def slots(self, stack: str) -> set[tuple[str, str]]:
        return {(w, s) for w, s in self._rows("SELECT workflow, server FROM slots WHERE stack = ?", (stack,))}

    def claim_slots(self, stack: str, requests: list[SlotRequest], cap: int) -> SlotClaim:
        self._writable()
        with self._writing(serialized=True) as run:  # one claim at a time: the count and the queue are consistent
            run.write("DELETE FROM slot_queue WHERE stack = ?", (stack,))
            mine = {(w, s) for w, s in run.read("SELECT workflow, server FROM slots WHERE stack = ?", (stack,))}
            wanted = [r for r in requests if (r.workflow, r.server) not in mine]
            held = int(run.read("SELECT count(*) FROM slots")[0][0])
            live = self._live_stacks(run) - {stack}
            others = [((int(seq), int(o)), st, wf, sv) for seq, o, st, wf, sv in run.read(
                "SELECT wf_seq, ord, stack, workflow, server FROM slot_queue") if st in live]
            granted, positions = allot(cap - held, stack, wanted, others)
            when = now()
            if granted:
                run.write_many("INSERT INTO slots VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                               [(stack, w, s, when) for w, s in granted])
            by_key = {(r.workflow, r.server): r for r in wanted}
            if positions:
                run.write_many("INSERT INTO slot_queue VALUES (?, ?, ?, ?, ?, ?)",
                               [(stack, w, s, *by_key[(w, s)].order, p) for (w, s), p in positions.items()])
            running = any(st in live for (st,) in run.read("SELECT DISTINCT stack FROM slots WHERE stack <> ?",
                                                           (stack,)))
        return SlotClaim(tuple(granted), positions, held + len(granted), running)

    def leave_queue(self, stack: str) -> None:
        self._writable()
        self._rows("DELETE FROM slot_queue WHERE stack = ?", (stack,))

    # --- copying between backends -----------------------------------------------------------------------

    def export_stack(self, stack: str) -> StackExport:
        with self._reading() as read:
            return StackExport(
                stack, _serial(read, stack),
                [ResourceRecord(a, k, w, s, json.loads(at), json.loads(o)) for a, k, w, s, at, o in read(
                    "SELECT address, kind, workflow, server, attrs, outputs FROM resources WHERE stack = ? "
                    "ORDER BY address", (stack,))],
                [StepRecord(w, s, st, _STATUS[status], att, json.loads(d), u) for w, s, st, status, att, d, u in read(
                    "SELECT workflow, server, step, status, attempt, detail, updated_at FROM steps WHERE stack = ? "
                    "ORDER BY gate", (stack,))],
                [(int(seq), n) for seq, n in read("SELECT seq, name FROM workflows WHERE stack = ? ORDER BY seq",
                                                  (stack,))],
                [SourceRecord(stack, n, m) for n, m in read(
                    "SELECT name, mac FROM sources WHERE stack = ? ORDER BY name", (stack,))],
                [ApprovalRecord(*r) for r in read("SELECT gate, approver, plan_digest, at, via FROM approvals "
                                                  "WHERE stack = ? ORDER BY at, gate", (stack,))],
                [JournalEntry(s, st, a, p, at, json.loads(d)) for s, st, a, p, at, d in read(
                    "SELECT seq, stack, address, phase, at, detail FROM journal WHERE stack = ? ORDER BY seq",
                    (stack,))],
                next((AppliedRecord(d, json.loads(p), at, c) for d, p, at, c in read(
                    "SELECT spec_digest, policy, at, git_commit FROM applied WHERE stack = ?", (stack,))), None))

    def import_stacks(self, exports: list[StackExport]) -> None:
        self._writable()
        with self._writing() as run:
            for e in exports:
                if _serial(run.read, e.stack) or run.read("SELECT 1 FROM steps WHERE stack = ? LIMIT 1", (e.stack,)):
                    raise UserError(f"stack `{e.stack}` already has state in {self.path}; nothing was copied")
            for _, stack, name in sorted((seq, e.stack, n) for e in exports for seq, n in e.workflows):
                run.write("INSERT INTO workflows (stack, name) VALUES (?, ?)", (stack, name))
            for e in exports:
                txn = SQLTransaction(run, e.stack)
                for r in e.resources:
                    txn.put_resource(r)
                for st in e.steps:
                    txn.put_step(st)
                for a in e.approvals:
                    txn.add_approval(a)
                if e.applied is not None:
                    txn.record_applied(e.applied)
                txn.set_sources(e.sources)
                run.write_many("INSERT INTO journal (stack, address, phase, at, detail) VALUES (?, ?, ?, ?, ?)",
                               [(e.stack, j.address, j.phase, j.at, canonical_json(j.detail)) for j in e.journal])
                run.write("INSERT INTO stacks VALUES (?, ?, ?)", (e.stack, e.serial, now()))


def _serial(read: Callable[[str, Sequence[Any]], Rows], stack: str) -> int:
    rows = read("SELECT serial FROM stacks WHERE name = ?", (stack,))
    return int(rows[0][0]) if rows else 0
