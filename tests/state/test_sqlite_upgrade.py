"""A SQLite state written by the previous version (schema 1) is upgraded in place when opened: the lock rows
gain their runner, and servers that had started before hold their migration slots."""

from __future__ import annotations

import sqlite3

from mgc_iac.state import SQLiteStore
from mgc_iac.state.sqlite import _SCHEMA, SCHEMA_VERSION


def test_a_schema_1_state_is_upgraded_and_keeps_its_servers_slots(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA)  # the tables as schema 1 had them
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    rows = [("w", "a", "StartMigration", "running"), ("w", "b", "CreateTarget", "queued"),
            ("w", "c", "MigrationTaskClear", "done"), ("w", "c", "CreateTarget", "done")]
    for wf, server, step, status in rows:
        db.execute("INSERT INTO steps VALUES ('s', ?, ?, ?, ?, ?, 1, '{}', '2026-11-01T00:00:00Z')",
                   (f"{wf}/{server}/{step}", wf, server, step, status))
    db.commit()
    db.close()
    store = SQLiteStore(path)
    try:
        assert store.slots("s") == {("w", "a")}  # started, not finished: holds one; queued and finished do not
        with store.lock("s", "apply") as info:
            assert store.lock_info("s").lock_id == info.lock_id
    finally:
        store.close()
    version = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)  # upgraded through every migration
