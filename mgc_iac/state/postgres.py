"""The team state store: PostgreSQL (psycopg 3), shared by every runner that points at the same database.

The URL never carries a password: libpq takes it from PGPASSWORD, a pgpass file or a service file. Stack locks
are session advisory locks (they die with the holder's connection, whatever killed it) plus a row naming the
holder. The account-wide cap is claimed under a transaction-level advisory lock, so applies on any runner see
one count and one FIFO.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo as pg_conninfo

from mgc_iac.errors import ConfigError, StateError, StateLockedError
from mgc_iac.state._sql import Rows, SQLStore, Statements
from mgc_iac.state.holder import locked_message, new_holder
from mgc_iac.state.pg_limits import PostgresLimiterPeer
from mgc_iac.state.pg_schema import LATEST, MIGRATIONS, SCHEMA
from mgc_iac.state.store import LockInfo

URL_PREFIXES = ("postgresql://", "postgres://")
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 3.0, 3.0)   # waits between tries to connect again (~10 s in all)
T = TypeVar("T")
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


class _Batched(Statements):
    """Writes are queued and sent as ONE simple query "BEGIN; ...; COMMIT" (values bound and quoted by psycopg's
    ClientCursor): one round trip per transaction, where a statement each costs one. A read (or a write whose
    answer counts) opens the transaction and sends what is queued first."""

    duplicate = psycopg.errors.UniqueViolation

    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn
        self._pending: list[tuple[str, Sequence[Any]]] = []
        self._begun = False
        self._carried: list[tuple[str, Sequence[Any]]] = []   # what the commit query carried (for a replay)
        self._journal: list[Sequence[Any]] = []               # its journal lines (to tell whether it landed)

    def write(self, sql: str, params: Sequence[Any]) -> None:
        if sql.startswith("INSERT INTO journal"):
            self._journal.append(params)
        self._pending.append((_pg(sql), params))

    def _send(self, *, commit: bool) -> None:
        cur = psycopg.ClientCursor(self._conn)
        parts = (["BEGIN"] if not self._begun else []) + [cur.mogrify(sql, params) for sql, params in self._pending]
        if commit and not self._begun:
            self._carried = list(self._pending)
        self._pending, self._begun = [], True
        cur.execute(";\n".join([*parts, "COMMIT"] if commit else parts))

    @property
    def replayable(self) -> bool:
        """Everything went in the one commit query (no read midway): it can be sent again on a new connection."""
        return bool(self._carried)

    def landed(self, conn: psycopg.Connection) -> bool:
        """Whether the commit whose answer was lost was carried out: its last journal line is there. One without
        a journal line is sent again (its writes are upserts and deletes)."""
        if not self._journal:
            return False
        return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM journal WHERE stack = %s AND address = %s AND "
                                 "phase = %s AND at = %s AND detail = %s)", tuple(self._journal[-1])).fetchone()[0])

    def replay(self, conn: psycopg.Connection) -> None:
        self._conn, self._pending, self._begun = conn, list(self._carried), False
        self._send(commit=True)

    def write_many(self, sql: str, rows: list[Sequence[Any]]) -> None:
        self._send(commit=False)
        with self._conn.cursor() as cur:
            cur.executemany(_pg(sql), rows)

    def read(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        self._send(commit=False)
        return self._conn.execute(_pg(sql), params).fetchall()

    def count(self, sql: str, params: Sequence[Any]) -> int:
        self._send(commit=False)
        return self._conn.execute(_pg(sql), params).rowcount

    def commit(self) -> None:
        if self._begun or self._pending:
            self._send(commit=True)


def _reconnecting(method: Callable[..., T]) -> Callable[..., T]:
    """A store method that runs once more on a new connection when the connection is lost under it (a read, or
    a write that is one idempotent transaction of its own)."""
    @functools.wraps(method)
    def wrapper(self: PostgresStore, *args: Any, **kwargs: Any) -> T:
        return self._retrying(lambda: method(self, *args, **kwargs))

    return wrapper


@functools.lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    """The shared SQL's `?` placeholders as psycopg's `%s`."""
    return sql.replace("?", "%s")


class PostgresStore(SQLStore):
    """One connection (autocommit outside explicit transactions); a mutex makes it safe across threads."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """`read_only`: no schema creation or upgrade, a read-only session (plan, status: a pull request's job
        runs with a role granted SELECT only, examples/ci/mgc-iac/state-roles.sql)."""
        super().__init__()
        check_url(url)
        self.url = url
        self.path = display(url)  # what messages name, like SQLiteStore.path
        self.read_only = read_only
        self.empty = False
        try:
            self._conn = self._connect()
        except psycopg.Error as exc:
            raise StateError(f"cannot reach the PostgreSQL state at {self.path}: {_scrub(str(exc), url).strip()}"
                             ) from None
        self._mutex = threading.RLock()
        self._gone: StateError | None = None   # set once the server stayed away past RECONNECT_DELAYS
        self._held: dict[str, tuple[LockInfo, int]] = {}  # stack -> (lock, depth): re-entrant in this process
        try:
            if read_only:
                self._session_settings()
                self.empty = not self._check_schema()
                return
            self._migrate()
            self._session_settings()
        except psycopg.Error as exc:
            self._conn.close()
            raise StateError(f"cannot prepare the state schema in {self.path}: {exc}") from None

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, application_name="mgc-iac", connect_timeout=15)

    def _session_settings(self) -> None:
        if self.read_only:  # a second fence under the store's own refusals (and again after a reconnect)
            self._conn.execute("SET default_transaction_read_only TO on")
        self._conn.execute(f"SET search_path TO {SCHEMA}")
        if "synchronous_commit" not in self.url:
            # the durability of SQLite's WAL + synchronous=NORMAL: a commit survives this process being killed,
            # and only a crash of the server itself can lose the last fraction of a second of commits, never
            # corrupt them (the journal replays such a step idempotently). Ask for more with
            # `?options=-c%20synchronous_commit%3Don` in the URL.
            self._conn.execute("SET synchronous_commit TO off")

    # --- a lost connection (a restarted server, a terminated session, a network blip) ---------------------------

    def _lost(self) -> bool:
        return bool(self._conn.closed or self._conn.broken)

    def _reconnect(self, cause: BaseException) -> None:
        """Connect again with short backoff (RECONNECT_DELAYS, ~10 s in all) and take back the stack locks this
        process held (their advisory locks died with the old session). StateError when the server stays away
        (and at once after that); StateLockedError when another process took a lock meanwhile or it was broken with
        `state unlock --force`. Nothing is lost either way: every step is journaled, and the next apply resumes."""
        if self._gone is not None:
            raise self._gone
        with contextlib.suppress(psycopg.Error):
            self._conn.close()
        last: BaseException = cause
        for delay in (*RECONNECT_DELAYS, None):
            try:
                self._conn = self._connect()
                self._session_settings()
                break
            except psycopg.Error as exc:
                last = exc
                if delay is None:
                    text = _scrub(str(last), self.url).strip()
                    reason = text.splitlines()[0] if text else type(last).__name__
                    self._gone = StateError(
                        f"lost the connection to the PostgreSQL state at {self.path} and could not connect again "
                        f"within {sum(RECONNECT_DELAYS):.0f} s ({reason}); nothing is lost: run the same command "
                        "again once the database is back")
                    raise self._gone from None
                time.sleep(delay)
        for stack, (info, _depth) in list(self._held.items()):
            row = self._conn.execute("SELECT lock_id FROM locks WHERE stack = %s", (stack,)).fetchone()
            got = self._conn.execute(f"SELECT pg_try_advisory_lock({_STACK_KEY.format('%s')})", (stack,)).fetchone()
            if row is None or row[0] != info.lock_id or not got[0]:
                holder = self._lock_row(stack)
                raise StateLockedError(f"the lock of stack `{stack}` was lost while the connection to {self.path} "
                                       "was down" + (f" and is now held: {locked_message(holder)}" if holder else
                                                     " (broken with `mgc-iac state unlock --force`)"))
            self._conn.execute("UPDATE locks SET backend_pid = pg_backend_pid() WHERE stack = %s AND lock_id = %s",
                               (stack, info.lock_id))

    def _retrying(self, operation: Callable[[], T]) -> T:
        """`operation()`, run once more on a new connection when the connection was lost under it."""
        with self._mutex:
            try:
                return operation()
            except StateError as exc:
                if not self._lost():
                    raise
                self._reconnect(exc)
            return operation()

    def _rollback_quietly(self) -> None:
        with contextlib.suppress(psycopg.Error):
            if not self._lost() and self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self._conn.execute("ROLLBACK")
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

    @_reconnecting
    def schema_version(self) -> int:
        with self._mutex, _errors(self.path):
            row = self._conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0])
    def environment_id(self) -> str:
        return self.backend_id()

    @_reconnecting
    def backend_id(self) -> str:
        """The id this backend got when its schema was created (what approvals can be bound to)."""
        with self._mutex, _errors(self.path):
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'backend_id'").fetchone()
        return str(row[0])
    # --- the engine's part of the SQL layer ---------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        with self._mutex, _errors(self.path):
            cur = self._conn.execute(_pg(sql), params)
            return cur.fetchall() if cur.description else []

    @contextmanager
    def _reading(self) -> Iterator[Callable[[str, Sequence[Any]], Rows]]:
        with self._mutex, _errors(self.path), self._conn.transaction():
            self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield lambda sql, params=(): self._conn.execute(_pg(sql), params).fetchall()

    @contextmanager
    def _writing(self, *, serialized: bool = False) -> Iterator[Statements]:
        with self._mutex:
            if self._lost():   # a session lost between transactions: connect again before writing
                self._reconnect(StateError("the connection was lost"))
            run = _Batched(self._conn)
            try:
                with _errors(self.path):
                    if serialized:  # every runner's claim of the account-wide slots, one at a time
                        run.read(f"SELECT pg_advisory_xact_lock({_SLOTS_KEY})")
                    yield run
            except BaseException:
                self._rollback_quietly()
                raise
            try:
                with _errors(self.path):
                    run.commit()
            except StateError as exc:
                # the connection was lost while the one-query transaction was sent: connect again and send it
                # again unless it landed; a transaction that read midway cannot be replayed from here (the apply
                # stops with one error line, and nothing is lost)
                if not (run.replayable and self._lost()):
                    self._rollback_quietly()
                    raise
                self._reconnect(exc)
                with _errors(self.path):
                    if not run.landed(self._conn):
                        run.replay(self._conn)

    def _live_stacks(self, run: Statements) -> set[str]:
        return {r[0] for r in run.read(
            f"SELECT DISTINCT stack FROM slot_queue q WHERE {_LIVE.format(stack='q.stack')} "
            f"UNION SELECT DISTINCT stack FROM slots s WHERE {_LIVE.format(stack='s.stack')}")}

    # --- the stack lock: a session advisory lock, and a row naming its holder --------------------------------

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
        self._retrying(lambda: self._take_lock(stack, info, operation))
        self._held[stack] = (info, 1)
        try:
            yield info
        finally:
            del self._held[stack]
            with self._mutex, contextlib.suppress(psycopg.Error):  # a lost session took its advisory lock along
                if not self._lost():
                    self._conn.execute("DELETE FROM locks WHERE stack = %s AND lock_id = %s", (stack, info.lock_id))
                    self._conn.execute(f"SELECT pg_advisory_unlock({_STACK_KEY.format('%s')})", (stack,))

    def _take_lock(self, stack: str, info: LockInfo, operation: str) -> None:
        with self._mutex, _errors(self.path):
            if self._lost():
                raise StateError("the connection was lost")
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
    def _lock_row(self, stack: str) -> LockInfo | None:
        row = self._conn.execute(
            f"SELECT stack, pid, host, since, operation, runner, lock_id FROM locks WHERE stack = %s AND "
            f"{_LIVE.format(stack='stack')}", (stack,)).fetchone()
        return LockInfo(*row) if row else None
    @_reconnecting
    def lock_info(self, stack: str) -> LockInfo | None:
        with self._mutex, _errors(self.path):
            return self._lock_row(stack)
    def force_unlock(self, stack: str, lock_id: str | None = None) -> LockInfo | None:
        """Remove the lock row and end the holder's database session (its advisory lock dies with it): an apply
        still running there fails at its next write instead of writing beside the next one."""
        self._writable()
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

    def limiter_peer(self) -> PostgresLimiterPeer | None:
        """The applies on this database share their rate limits through `limiter_shares` (a connection of its own)."""
        return None if self.read_only else PostgresLimiterPeer(self.url, self.path)

    def close(self) -> None:
        with self._mutex, contextlib.suppress(psycopg.Error):
            self._conn.close()

    # reads, and writes that are one transaction of their own and idempotent: run once more on a new connection
    # after a lost one (SQLStore's methods, wrapped)
    plan_signatures = _reconnecting(SQLStore.plan_signatures)
    snapshot = _reconnecting(SQLStore.snapshot)
    serial = _reconnecting(SQLStore.serial)
    approvals = _reconnecting(SQLStore.approvals)
    journal = _reconnecting(SQLStore.journal)
    macs_elsewhere = _reconnecting(SQLStore.macs_elsewhere)
    stacks = _reconnecting(SQLStore.stacks)
    slots = _reconnecting(SQLStore.slots)
    claim_slots = _reconnecting(SQLStore.claim_slots)
    leave_queue = _reconnecting(SQLStore.leave_queue)
    export_stack = _reconnecting(SQLStore.export_stack)


@contextmanager
def _errors(where: str) -> Iterator[None]:
    """psycopg's errors as the tool's (a lost server is a StateError, never a traceback)."""
    try:
        yield
    except psycopg.errors.UniqueViolation as exc:
        raise StateError(f"the state in {where} refused a duplicate: {exc.diag.message_detail or exc}") from None
    except psycopg.Error as exc:
        raise StateError(f"the PostgreSQL state at {where} failed: {str(exc).strip()}") from None
