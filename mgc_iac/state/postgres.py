"""The team state store: PostgreSQL (psycopg 3), shared by every runner that points at the same database.

The URL never carries a password: libpq takes it from PGPASSWORD, a pgpass file or a service file. Stack locks
are session advisory locks (they die with the holder's connection, whatever killed it) plus a row naming the
holder. The account-wide cap is claimed under a transaction-level advisory lock, so applies on any runner see
one count and one FIFO.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo

from mgc_iac.errors import ConfigError, StateError, StateLockedError
from mgc_iac.state._sql import Rows, SQLStore, Statements
from mgc_iac.state.holder import locked_message, new_holder
from mgc_iac.state.pg_schema import LATEST, MIGRATIONS, SCHEMA
from mgc_iac.state.store import LockInfo

URL_PREFIXES = ("postgresql://", "postgres://")
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

    def write(self, sql: str, params: Sequence[Any]) -> None:
        self._pending.append((_pg(sql), params))

    def _send(self, *, commit: bool) -> None:
        cur = psycopg.ClientCursor(self._conn)
        parts = (["BEGIN"] if not self._begun else []) + [cur.mogrify(sql, params) for sql, params in self._pending]
        self._pending, self._begun = [], True
        cur.execute(";\n".join([*parts, "COMMIT"] if commit else parts))

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


@functools.lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    """The shared SQL's `?` placeholders as psycopg's `%s`."""
    return sql.replace("?", "%s")


class PostgresStore(SQLStore):
    """One connection (autocommit outside explicit transactions); a mutex makes it safe across threads."""

    def __init__(self, url: str) -> None:
        super().__init__()
        check_url(url)
        self.url = url
        self.path = display(url)  # what messages name, like SQLiteStore.path
        try:
            self._conn = psycopg.connect(url, autocommit=True, application_name="mgc-iac", connect_timeout=15)
        except psycopg.Error as exc:
            raise StateError(f"cannot reach the PostgreSQL state at {self.path}: {_scrub(str(exc), url).strip()}"
                             ) from None
        self._mutex = threading.RLock()
        self._held: dict[str, tuple[LockInfo, int]] = {}  # stack -> (lock, depth): re-entrant in this process
        try:
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
    def schema_version(self) -> int:
        with self._mutex:
            row = self._conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0])
    def environment_id(self) -> str:
        return self.backend_id()

    def backend_id(self) -> str:
        """The id this backend got when its schema was created (what approvals can be bound to)."""
        with self._mutex:
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
        with self._mutex, _errors(self.path):
            run = _Batched(self._conn)
            try:
                if serialized:  # every runner's claim of the account-wide slots, one at a time
                    run.read(f"SELECT pg_advisory_xact_lock({_SLOTS_KEY})")
                yield run
                run.commit()
            except BaseException:
                if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    self._conn.execute("ROLLBACK")
                raise

    def _live_stacks(self, run: Statements) -> set[str]:
        return {r[0] for r in run.read(
            f"SELECT DISTINCT stack FROM slot_queue q WHERE {_LIVE.format(stack='q.stack')} "
            f"UNION SELECT DISTINCT stack FROM slots s WHERE {_LIVE.format(stack='s.stack')}")}

    # --- the stack lock: a session advisory lock, and a row naming its holder --------------------------------

    @contextmanager
    def lock(self, stack: str, operation: str) -> Iterator[LockInfo]:
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

    def close(self) -> None:
        with self._mutex:
            self._conn.close()


@contextmanager
def _errors(where: str) -> Iterator[None]:
    """psycopg's errors as the tool's (a lost server is a StateError, never a traceback)."""
    try:
        yield
    except psycopg.errors.UniqueViolation as exc:
        raise StateError(f"the state in {where} refused a duplicate: {exc.diag.message_detail or exc}") from None
    except psycopg.Error as exc:
        raise StateError(f"the PostgreSQL state at {where} failed: {str(exc).strip()}") from None
