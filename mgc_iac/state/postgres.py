"""The team state store: PostgreSQL (psycopg 3), shared by every runner that points at the same database.

The URL never carries a password: libpq takes it from PGPASSWORD, a pgpass file or a service file. Stack locks
are session advisory locks (they die with the holder's connection, whatever killed it) plus a row naming the
holder. The account-wide cap is claimed under a transaction-level advisory lock, so applies on any runner see
one count and one FIFO.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo

from mgc_iac._gc import gc_paused
from mgc_iac.errors import ConfigError, MacConflictError, StateError, StateLockedError, UserError
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
from mgc_iac.state.pg_schema import LATEST, MIGRATIONS, SCHEMA
from mgc_iac.state.store import LockInfo, SlotClaim, SlotRequest, StateStore, Transaction

URL_PREFIXES = ("postgresql://", "postgres://")
_STATUS = {s.value: s for s in StepStatus}
_IDLE = (StepStatus.PENDING.value, StepStatus.QUEUED.value)
_FINAL = "MigrationTaskClear"
# advisory lock keys: hashtextextended is PostgreSQL's own 64-bit text hash (no Python-side hashing to agree on)
_STACK_KEY = "hashtextextended('mgc-iac/lock/' || {}, 0)"
_MIGRATE_KEY = "hashtextextended('mgc-iac/migrate', 0)"
_SLOTS_KEY = "hashtextextended('mgc-iac/slots', 0)"
# a stack whose apply is alive: some session holds its advisory lock (pg_locks: classid = high 32 bits)
_LIVE = ("EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
         "AND ((l.classid::bigint << 32) | l.objid::bigint) = " + _STACK_KEY.format("{stack}") + ")")


def check_url(url: str) -> dict[str, str]:
    """The URL's connection parameters; refused when it carries a password (it would end up in files and logs)."""
    try:
        params = pg_conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"the state URL is not a valid PostgreSQL URL: {_scrub(str(exc), url)}") from None
    if params.get("password"):
        raise ConfigError("the state URL carries a password: remove it from the URL and give it to libpq through "
                          "PGPASSWORD, a ~/.pgpass file (PGPASSFILE) or a service file (PGSERVICEFILE)")
    return {k: str(v) for k, v in params.items()}


def _scrub(text: str, url: str) -> str:
    return text.replace(url, "<state url>")


def display(url: str) -> str:
    """The URL as messages show it (it carries no password: check_url refuses those)."""
    return url.split("?", 1)[0]


class PostgresStore(StateStore):
    """One connection (autocommit outside explicit transactions); a mutex makes it safe across threads."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """`read_only`: no schema creation or upgrade, a read-only session (plan, status: a pull request's job
        runs with a role granted SELECT only, see README "Teams and pipelines")."""
        check_url(url)
        self.url = url
        self.path = display(url)  # what messages name, like SQLiteStore.path
        self.read_only = read_only
        try:
            self._conn = psycopg.connect(url, autocommit=True, application_name="mgc-iac", connect_timeout=15)
        except psycopg.Error as exc:
            raise StateError(f"cannot reach the PostgreSQL state at {self.path}: {_scrub(str(exc), url).strip()}"
                             ) from None
        self._mutex = threading.RLock()
        self._held: dict[str, tuple[LockInfo, int]] = {}  # stack -> (lock, depth): re-entrant in this process
        # servers this process recorded as holding a slot: their next steps need not claim it again (only the
        # holder of a stack's lock writes its steps, so nobody else releases them meanwhile)
        self._holding: set[tuple[str, str, str]] = set()
        try:
            if read_only:
                self._conn.execute("SET default_transaction_read_only TO on")
                self._conn.execute(f"SET search_path TO {SCHEMA}")
                self.empty = not self._check_schema()
                return
            self.empty = False
            self._migrate()
            self._conn.execute(f"SET search_path TO {SCHEMA}")
            if "synchronous_commit" not in url:
                # the durability of SQLite's WAL + synchronous=NORMAL: a commit survives this process being killed,
                # and only a crash of the server itself can lose the last fraction of a second of commits, never
                # corrupt them (the journal replays such a step idempotently). Ask for more with
                # `?options=-c%20synchronous_commit%3Don` in the URL.
                self._conn.execute("SET synchronous_commit TO off")
        except psycopg.Error as exc:
            self._conn.close()
            raise StateError(f"cannot prepare the state schema in {self.path}: {exc}") from None

    def _migrate(self) -> None:
        with self._conn.transaction():
            self._conn.execute(f"SELECT pg_advisory_xact_lock({_MIGRATE_KEY})")
            self._conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations (version INTEGER PRIMARY KEY, "
                               "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            row = self._conn.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_migrations").fetchone()
            current = int(row[0]) if row else 0
            if current > LATEST:
                raise StateError(f"the state in {self.path} is at schema version {current}, newer than this mgc-iac "
                                 f"knows ({LATEST}); upgrade mgc-iac")
            self._conn.execute(f"SET LOCAL search_path TO {SCHEMA}")
            for version in sorted(v for v in MIGRATIONS if v > current):
                self._conn.execute(MIGRATIONS[version])
                self._conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))

    def _check_schema(self) -> bool:
        """Read-only: whether the schema exists (False: nothing was ever applied here) at this version."""
        row = self._conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_migrations",)).fetchone()
        if row is None or row[0] is None:
            return False
        version = int(self._conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])
        if version != LATEST:
            raise StateError(f"the state in {self.path} is at schema version {version}, this mgc-iac reads {LATEST}; "
                             "a read-only command never upgrades it: run `mgc-iac apply` once with this version")
        return True

    def _writable(self) -> None:
        if self.read_only:
            raise StateError(f"the state {self.path} is open read-only: this command never writes it")

    def schema_version(self) -> int:
        with self._mutex:
            row = self._conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0])

    def environment_id(self) -> str:
        return self.backend_id()

    def last_applied(self, stack: str) -> AppliedRecord | None:
        with self._mutex, _errors(self.path):
            row = self._conn.execute("SELECT spec_digest, policy, at, git_commit FROM applied WHERE stack = %s",
                                     (stack,)).fetchone()
        return AppliedRecord(row[0], json.loads(row[1]), row[2], row[3]) if row else None

    def plan_signatures(self, stack: str, spec_digest: str) -> list[tuple[str, str]]:
        with self._mutex, _errors(self.path):
            rows = self._conn.execute("SELECT principal, signature FROM plan_signatures WHERE stack = %s AND "
                                      "spec_digest = %s", (stack, spec_digest)).fetchall()
        return [(p, sig) for p, sig in rows]

    def backend_id(self) -> str:
        """The id this backend got when its schema was created (what approvals can be bound to)."""
        with self._mutex:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'backend_id'").fetchone()
        return str(row[0])

    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection]:
        with self._mutex, _errors(self.path), self._conn.transaction():
            self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield self._conn

    # --- reads ------------------------------------------------------------------------------------------

    def snapshot(self, stack: str) -> Snapshot:
        with self._read() as conn, gc_paused():
            serial = _serial(conn, stack)
            resources = RecordedResources({
                addr: (kind, server, wf, attrs, outputs)
                for addr, kind, wf, server, attrs, outputs in conn.execute(
                    "SELECT address, kind, workflow, server, attrs, outputs FROM resources WHERE stack = %s",
                    (stack,)).fetchall()
            })
            steps = {
                gate: StepRecord(wf, server, step, _STATUS[status], attempt,
                                 {} if detail == "{}" else json.loads(detail), at)
                for gate, wf, server, step, status, attempt, detail, at in conn.execute(
                    "SELECT gate, workflow, server, step, status, attempt, detail, updated_at FROM steps "
                    "WHERE stack = %s", (stack,)).fetchall()
            }
            order = dict(conn.execute("SELECT name, seq FROM workflows WHERE stack = %s", (stack,)).fetchall())
        return Snapshot(stack, serial, resources, steps, order)

    def serial(self, stack: str) -> int:
        with self._mutex, _errors(self.path):
            return _serial(self._conn, stack)

    def approvals(self, stack: str) -> list[ApprovalRecord]:
        with self._mutex, _errors(self.path):
            rows = self._conn.execute("SELECT gate, approver, plan_digest, at, via, signature, signed_gates FROM "
                                      "approvals WHERE stack = %s ORDER BY at, gate", (stack,)).fetchall()
        return [ApprovalRecord(g, a, d, at, via, sig, tuple(json.loads(signed)))
                for g, a, d, at, via, sig, signed in rows]

    def journal(self, stack: str, limit: int | None = None) -> list[JournalEntry]:
        with self._mutex, _errors(self.path):
            rows = self._conn.execute("SELECT seq, stack, address, phase, at, detail FROM journal WHERE stack = %s "
                                      "ORDER BY seq DESC LIMIT %s", (stack, limit)).fetchall()
        return [JournalEntry(s, st, a, p, at, json.loads(d)) for s, st, a, p, at, d in reversed(rows)]

    def macs_elsewhere(self, stack: str) -> dict[str, tuple[str, str]]:
        with self._mutex, _errors(self.path):
            rows = self._conn.execute("SELECT mac, stack, name FROM sources WHERE stack <> %s", (stack,)).fetchall()
        return {mac: (st, name) for mac, st, name in rows}

    def stacks(self) -> list[str]:
        with self._mutex, _errors(self.path):
            return [r[0] for r in self._conn.execute("SELECT name FROM stacks ORDER BY name").fetchall()]

    # --- writes -----------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, stack: str) -> Iterator[Transaction]:
        self._writable()
        with self._mutex, _errors(self.path):
            txn = _PGTransaction(self._conn, stack, holding=self._holding)
            try:
                yield txn
                if txn.dirty:
                    txn.queue("INSERT INTO stacks (name, serial, updated_at) VALUES (%s, 1, %s) ON CONFLICT (name) "
                              "DO UPDATE SET serial = stacks.serial + 1, updated_at = excluded.updated_at",
                              (stack, now()))
                txn.commit()
                self._holding |= txn.claimed
                self._holding -= txn.released
            except BaseException:
                if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    self._conn.execute("ROLLBACK")
                raise

    # --- locks ------------------------------------------------------------------------------------------

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
        with self._mutex, _errors(self.path):
            got = self._conn.execute(f"SELECT pg_try_advisory_lock({_STACK_KEY.format('%s')})", (stack,)).fetchone()
            if not got[0]:
                held = self._lock_row(stack)
                if held is None:  # taken a moment ago: its row is being written
                    raise StateLockedError(f"the state of stack `{stack}` is locked by another apply that is "
                                           "starting; wait for it to finish")
                raise StateLockedError(locked_message(held))
            # the advisory lock was free: a row left here is a dead holder's, replaced
            self._conn.execute(
                "INSERT INTO locks VALUES (%s, %s, %s, %s, %s, %s, %s, pg_backend_pid()) ON CONFLICT (stack) DO "
                "UPDATE SET lock_id = excluded.lock_id, pid = excluded.pid, host = excluded.host, runner = "
                "excluded.runner, since = excluded.since, operation = excluded.operation, "
                "backend_pid = excluded.backend_pid",
                (stack, info.lock_id, info.pid, info.host, info.runner, info.since, operation))
        self._held[stack] = (info, 1)
        try:
            yield info
        finally:
            del self._held[stack]
            with self._mutex:
                if not self._conn.closed:
                    self._conn.execute("DELETE FROM locks WHERE stack = %s AND lock_id = %s", (stack, info.lock_id))
                    self._conn.execute(f"SELECT pg_advisory_unlock({_STACK_KEY.format('%s')})", (stack,))

    def _lock_row(self, stack: str) -> LockInfo | None:
        row = self._conn.execute(
            f"SELECT stack, pid, host, since, operation, runner, lock_id FROM locks WHERE stack = %s AND "
            f"{_LIVE.format(stack='stack')}", (stack,)).fetchone()
        return LockInfo(*row) if row else None

    def lock_info(self, stack: str) -> LockInfo | None:
        with self._mutex, _errors(self.path):
            return self._lock_row(stack)

    def force_unlock(self, stack: str, lock_id: str | None = None) -> LockInfo | None:
        self._writable()
        """Remove the lock row and end the holder's database session (its advisory lock dies with it): an apply
        still running there fails at its next write instead of writing beside the next one."""
        with self._mutex, _errors(self.path):
            row = self._conn.execute("SELECT stack, pid, host, since, operation, runner, lock_id, backend_pid "
                                     "FROM locks WHERE stack = %s", (stack,)).fetchone()
            if row is None:
                return None
            held = LockInfo(*row[:7])
            if lock_id is not None and lock_id != held.lock_id:
                return None  # compare-and-delete: a lock taken since by another apply (another id) stays
            holder = (f"FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND "
                      f"((l.classid::bigint << 32) | l.objid::bigint) = {_STACK_KEY.format('%s')} "
                      f"AND l.pid <> pg_backend_pid()")
            self._conn.execute(f"SELECT pg_terminate_backend(l.pid) {holder}", (stack,))
            deadline = time.monotonic() + 10  # the session ends (and its lock with it) shortly after the signal
            while self._conn.execute(f"SELECT EXISTS (SELECT 1 {holder})", (stack,)).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise StateError(f"the session holding the lock of `{stack}` did not end; ask the database "
                                     "administrator to end it")
                time.sleep(0.05)
            self._conn.execute("DELETE FROM locks WHERE stack = %s AND lock_id = %s", (stack, held.lock_id))
        return held

    # --- the account-wide cap ----------------------------------------------------------------------------

    def slots(self, stack: str) -> set[tuple[str, str]]:
        with self._mutex, _errors(self.path):
            return {(w, s) for w, s in self._conn.execute(
                "SELECT workflow, server FROM slots WHERE stack = %s", (stack,)).fetchall()}

    def claim_slots(self, stack: str, requests: list[SlotRequest], cap: int) -> SlotClaim:
        self._writable()
        with self._mutex, _errors(self.path), self._conn.transaction():
            conn = self._conn
            conn.execute(f"SELECT pg_advisory_xact_lock({_SLOTS_KEY})")
            conn.execute("DELETE FROM slot_queue WHERE stack = %s", (stack,))
            mine = self.slots(stack)
            wanted = [r for r in requests if (r.workflow, r.server) not in mine]
            held = int(conn.execute("SELECT count(*) FROM slots").fetchone()[0])
            others = [((int(seq), int(ord_)), st, wf, sv) for seq, ord_, st, wf, sv in conn.execute(
                f"SELECT wf_seq, ord, stack, workflow, server FROM slot_queue q WHERE {_LIVE.format(stack='q.stack')}"
            ).fetchall()]
            granted, positions = allot(cap - held, stack, wanted, others)
            when = now()
            if granted:
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO slots VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                    [(stack, w, s, when) for w, s in granted])
            by_key = {(r.workflow, r.server): r for r in wanted}
            if positions:
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO slot_queue VALUES (%s, %s, %s, %s, %s, %s)",
                                    [(stack, w, s, by_key[(w, s)].order[0], by_key[(w, s)].order[1], p)
                                     for (w, s), p in positions.items()])
            running = conn.execute(f"SELECT EXISTS (SELECT 1 FROM slots s WHERE s.stack <> %s AND "
                                   f"{_LIVE.format(stack='s.stack')})", (stack,)).fetchone()[0]
            return SlotClaim(tuple(granted), positions, held + len(granted), bool(running))

    def leave_queue(self, stack: str) -> None:
        self._writable()
        with self._mutex, _errors(self.path):
            self._conn.execute("DELETE FROM slot_queue WHERE stack = %s", (stack,))

    # --- copying ----------------------------------------------------------------------------------------

    def export_stack(self, stack: str) -> StackExport:
        with self._read() as conn:
            return StackExport(
                stack, _serial(conn, stack),
                [ResourceRecord(a, k, w, s, json.loads(at), json.loads(o)) for a, k, w, s, at, o in conn.execute(
                    "SELECT address, kind, workflow, server, attrs, outputs FROM resources WHERE stack = %s "
                    "ORDER BY address", (stack,)).fetchall()],
                [StepRecord(w, s, st, _STATUS[status], att, json.loads(d), u) for w, s, st, status, att, d, u in
                 conn.execute("SELECT workflow, server, step, status, attempt, detail, updated_at FROM steps "
                              "WHERE stack = %s ORDER BY gate", (stack,)).fetchall()],
                [(int(seq), n) for seq, n in conn.execute(
                    "SELECT seq, name FROM workflows WHERE stack = %s ORDER BY seq", (stack,)).fetchall()],
                [SourceRecord(stack, n, m) for n, m in conn.execute(
                    "SELECT name, mac FROM sources WHERE stack = %s ORDER BY name", (stack,)).fetchall()],
                [ApprovalRecord(*r) for r in conn.execute(
                    "SELECT gate, approver, plan_digest, at, via FROM approvals WHERE stack = %s ORDER BY at, gate",
                    (stack,)).fetchall()],
                [JournalEntry(s, st, a, p, at, json.loads(d)) for s, st, a, p, at, d in conn.execute(
                    "SELECT seq, stack, address, phase, at, detail FROM journal WHERE stack = %s ORDER BY seq",
                    (stack,)).fetchall()],
                self.last_applied(stack))

    def import_stacks(self, exports: list[StackExport]) -> None:
        self._writable()
        with self._mutex, _errors(self.path), self._conn.transaction(), self._conn.cursor() as cur:
            for e in exports:
                if _serial(self._conn, e.stack) or cur.execute(
                        "SELECT 1 FROM steps WHERE stack = %s LIMIT 1", (e.stack,)).fetchone():
                    raise UserError(f"stack `{e.stack}` already has state in {self.path}; nothing was copied")
            for _, stack, name in sorted((seq, e.stack, n) for e in exports for seq, n in e.workflows):
                cur.execute("INSERT INTO workflows (stack, name) VALUES (%s, %s)", (stack, name))
            for e in exports:
                txn = _PGTransaction(self._conn, e.stack, begun=True)
                for r in e.resources:
                    txn.put_resource(r)
                for s in e.steps:
                    txn.put_step(s)
                for a in e.approvals:
                    txn.add_approval(a)
                if e.applied is not None:
                    txn.record_applied(e.applied)
                txn.flush()
                txn.set_sources(e.sources)
                cur.executemany("INSERT INTO journal (stack, address, phase, at, detail) VALUES (%s, %s, %s, %s, %s)",
                                [(e.stack, j.address, j.phase, j.at, canonical_json(j.detail)) for j in e.journal])
                cur.execute("INSERT INTO stacks VALUES (%s, %s, %s)", (e.stack, e.serial, now()))

    def close(self) -> None:
        with self._mutex:
            self._conn.close()


def _serial(conn: psycopg.Connection, stack: str) -> int:
    row = conn.execute("SELECT serial FROM stacks WHERE name = %s", (stack,)).fetchone()
    return int(row[0]) if row else 0


@contextmanager
def _errors(where: str) -> Iterator[None]:
    """psycopg's errors as the tool's (a lost server is a StateError, never a traceback)."""
    try:
        yield
    except psycopg.errors.UniqueViolation as exc:
        raise StateError(f"the state in {where} refused a duplicate: {exc.diag.message_detail or exc}") from None
    except psycopg.Error as exc:
        raise StateError(f"the PostgreSQL state at {where} failed: {str(exc).strip()}") from None


class _PGTransaction(Transaction):
    """Writes are queued and sent at commit as ONE simple query "BEGIN; ...; COMMIT" (values bound and quoted by
    psycopg's ClientCursor): one round trip per transaction, where a statement each costs one. A read inside
    (set_sources, register_workflows) opens the transaction and sends what is queued first."""

    def __init__(self, conn: psycopg.Connection, stack: str, begun: bool = False,
                 holding: set[tuple[str, str, str]] | None = None) -> None:
        self._conn = conn
        self._stack = stack
        self._holding = holding if holding is not None else set()
        self.claimed: set[tuple[str, str, str]] = set()
        self.released: set[tuple[str, str, str]] = set()
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self._begun = begun  # inside a transaction the caller opened
        self.dirty = False

    def queue(self, sql: str, params: tuple[Any, ...]) -> None:
        self._pending.append((sql, params))

    def _send(self, *, begin: bool, commit: bool) -> None:
        cur = psycopg.ClientCursor(self._conn)
        parts = (["BEGIN"] if begin else []) + [cur.mogrify(sql, params) for sql, params in self._pending]
        self._pending = []
        if commit:
            parts.append("COMMIT")
        if parts:
            cur.execute(";\n".join(parts))

    def flush(self) -> None:
        """Open the transaction (if not yet) and send what is queued, before a read that must see it."""
        self._send(begin=not self._begun, commit=False)
        self._begun = True

    def commit(self) -> None:
        if self._begun or self._pending:
            self._send(begin=not self._begun, commit=True)

    def put_resource(self, record: ResourceRecord) -> None:
        self.dirty = True
        self.queue(
            "INSERT INTO resources VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (stack, address) DO UPDATE SET "
            "kind = excluded.kind, workflow = excluded.workflow, server = excluded.server, attrs = excluded.attrs, "
            "outputs = excluded.outputs",
            (self._stack, record.address, record.kind, record.workflow, record.server,
             canonical_json(record.attrs), canonical_json(record.outputs)))

    def delete_resource(self, address: str) -> None:
        self.dirty = True
        self.queue("DELETE FROM resources WHERE stack = %s AND address = %s", (self._stack, address))

    def put_step(self, record: StepRecord) -> None:
        self.dirty = True
        status = record.status.value
        self.queue(
            "INSERT INTO steps VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (stack, gate) DO UPDATE SET "
            "status = excluded.status, attempt = excluded.attempt, detail = excluded.detail, "
            "updated_at = excluded.updated_at",
            (self._stack, record.gate, record.workflow, record.server, record.step, status, record.attempt,
             canonical_json(record.detail), record.updated_at or now()))
        key = (self._stack, record.workflow, record.server)
        if record.step == _FINAL and record.status in (StepStatus.DONE, StepStatus.SKIPPED):
            self.queue("DELETE FROM slots WHERE stack = %s AND workflow = %s AND server = %s", key)
            self.released.add(key)
            self.claimed.discard(key)
        elif status not in _IDLE and key not in self._holding and key not in self.claimed:
            # a server that started holds its slot (claimed before, or taken here)
            self.queue("INSERT INTO slots VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", (*key, now()))
            self.claimed.add(key)
            self.released.discard(key)

    def journal(self, address: str, phase: str, detail: Mapping[str, Any] | None = None) -> None:
        self.dirty = True
        self.queue("INSERT INTO journal (stack, address, phase, at, detail) VALUES (%s, %s, %s, %s, %s)",
                              (self._stack, address, phase, now(), canonical_json(dict(detail or {}))))

    def set_sources(self, sources: list[SourceRecord]) -> None:
        self.flush()
        current = set(self._conn.execute("SELECT name, mac FROM sources WHERE stack = %s", (self._stack,)).fetchall())
        wanted = {(s.name, s.mac) for s in sources}
        if current == wanted:
            return
        taken = self._conn.execute("SELECT mac, stack, name FROM sources WHERE stack <> %s AND mac = ANY(%s)",
                                   (self._stack, [m for _, m in wanted])).fetchall()
        if taken:
            raise MacConflictError(mac_conflict(self._stack, wanted, taken))
        self.dirty = True
        self._conn.execute("DELETE FROM sources WHERE stack = %s", (self._stack,))
        try:
            with self._conn.cursor() as cur:  # the unique constraint settles a race with another runner
                cur.executemany("INSERT INTO sources VALUES (%s, %s, %s)",
                                [(self._stack, n, m) for n, m in sorted(wanted)])
        except psycopg.errors.UniqueViolation as exc:
            raise MacConflictError(f"a MAC of stack `{self._stack}` was taken by another stack of this backend at "
                                   f"the same moment ({exc.diag.message_detail or exc}); a MAC must be unique across "
                                   "every stack of the account: fix the inventory") from None

    def register_workflows(self, names: list[str]) -> None:
        self.flush()
        for name in names:
            cur = self._conn.execute("INSERT INTO workflows (stack, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                     (self._stack, name))
            if cur.rowcount:
                self.dirty = True

    def delete_steps(self, workflow: str, server: str) -> None:
        self.dirty = True
        key = (self._stack, workflow, server)
        for table in ("steps", "slots", "slot_queue"):  # a server that left the spec holds no slot either
            self.queue(f"DELETE FROM {table} WHERE stack = %s AND workflow = %s AND server = %s", key)
        self.released.add(key)
        self.claimed.discard(key)

    def add_approval(self, record: ApprovalRecord) -> None:
        # approvals do not move the serial (see SQLiteStore): approving leaves the approved plan current
        self.queue(
            "INSERT INTO approvals VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (stack, gate, approver, "
            "plan_digest) DO UPDATE SET at = excluded.at, via = excluded.via, signature = excluded.signature, "
            "signed_gates = excluded.signed_gates",
            (self._stack, record.gate, record.approver, record.plan_digest, record.at, record.via, record.signature,
             json.dumps(list(record.signed_gates))))

    def record_applied(self, record: AppliedRecord) -> None:
        # not infrastructure: the serial (hence the digest approvals bind to) does not move
        self.queue("INSERT INTO applied VALUES (%s, %s, %s, %s, %s) ON CONFLICT (stack) DO UPDATE SET "
                   "spec_digest = excluded.spec_digest, policy = excluded.policy, at = excluded.at, "
                   "git_commit = excluded.git_commit",
                   (self._stack, record.spec_digest, canonical_json(record.policy), record.at or now(),
                    record.git_commit))

    def add_plan_signature(self, spec_digest: str, principal: str, signature: str) -> None:
        self.queue("INSERT INTO plan_signatures VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                   (self._stack, spec_digest, principal, signature))

    def claim_notification(self, key: str, detail: Mapping[str, Any] | None = None) -> bool:
        self.flush()  # the answer is read here: whether this key was claimed before
        cur = self._conn.execute("INSERT INTO notifications VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                 (self._stack, key, now(), canonical_json(dict(detail or {}))))
        return bool(cur.rowcount)

    def release_notification(self, key: str) -> None:
        self.queue("DELETE FROM notifications WHERE stack = %s AND key = %s", (self._stack, key))

