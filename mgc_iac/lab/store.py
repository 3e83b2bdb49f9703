"""The lab's state on disk: one SQLite file, every change in a transaction, so a restart loses nothing.

Resources are JSON documents keyed by (kind, id), kept in insertion order; idempotency tokens, SMN messages
and lab settings have their own tables. Only the lab server's event-loop thread uses a Store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL, id TEXT NOT NULL, name TEXT, data TEXT NOT NULL,
    UNIQUE (kind, id));
CREATE INDEX IF NOT EXISTS resources_name ON resources (kind, name);
CREATE TABLE IF NOT EXISTS tokens (scope TEXT NOT NULL, token TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (scope, token));
CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    """A transactional JSON document store over SQLite (WAL mode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._depth = 0

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def tx(self) -> Iterator[Store]:
        """One atomic unit of change; nested calls join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    def get(self, kind: str, id_: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data FROM resources WHERE kind=? AND id=?", (kind, id_)).fetchone()
        return json.loads(row[0]) if row else None

    def list(self, kind: str, **equal: Any) -> list[dict[str, Any]]:
        """Every document of a kind in creation order, keeping those whose fields equal `equal`."""
        if set(equal) == {"name"}:
            rows = self._db.execute("SELECT data FROM resources WHERE kind=? AND name=? ORDER BY seq",
                                    (kind, equal["name"]))
        else:
            rows = self._db.execute("SELECT data FROM resources WHERE kind=? ORDER BY seq", (kind,))
        docs = [json.loads(r[0]) for r in rows]
        return [d for d in docs if all(d.get(k) == v for k, v in equal.items())]

    def search(self, kind: str, name_contains: str) -> list[dict[str, Any]]:
        """Documents whose name contains the text (only matching rows are decoded)."""
        rows = self._db.execute("SELECT data FROM resources WHERE kind=? AND instr(name, ?) > 0 ORDER BY seq",
                                (kind, name_contains))
        return [json.loads(r[0]) for r in rows]

    def put(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace the document whose id is doc['id']."""
        data = json.dumps(doc, separators=(",", ":"))
        with self.tx():
            self._db.execute(
                "INSERT INTO resources (kind, id, name, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, id) DO UPDATE SET name=excluded.name, data=excluded.data",
                (kind, doc["id"], doc.get("name"), data),
            )
        return doc

    def delete(self, kind: str, id_: str) -> bool:
        with self.tx():
            cur = self._db.execute("DELETE FROM resources WHERE kind=? AND id=?", (kind, id_))
        return cur.rowcount > 0

    def token(self, scope: str, token: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data FROM tokens WHERE scope=? AND token=?", (scope, token)).fetchone()
        return json.loads(row[0]) if row else None

    def put_token(self, scope: str, token: str, data: dict[str, Any]) -> None:
        with self.tx():
            self._db.execute("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?)", (scope, token, json.dumps(data)))

    def add_message(self, message: dict[str, Any]) -> None:
        with self.tx():
            self._db.execute("INSERT INTO messages (data) VALUES (?)", (json.dumps(message),))

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._db.execute("SELECT data FROM messages ORDER BY seq")]

    def setting(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.tx():
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value)))

    def wipe(self) -> None:
        """Forget every resource, token, message and setting (lab reset)."""
        with self.tx():
            for table in ("resources", "tokens", "messages", "settings"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
