"""Two applies creating one new SQLite state at once (tests/engine/test_mac_claim.py's race, made deterministic)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from mgc_iac.state import SQLiteStore


def test_opening_waits_for_another_process_creating_the_store(tmp_path: Path) -> None:
    """Another connection creates the file and holds its creating transaction: switching the file to WAL needs that
    lock and SQLite refuses at once, without its busy wait; the store waits for the transaction and opens."""
    path = tmp_path / "state.db"
    held = threading.Event()

    def create_and_hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("CREATE TABLE creating (a)")            # a new file, still in rollback-journal mode
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO creating VALUES (1)")
        held.set()
        time.sleep(0.5)
        other.execute("COMMIT")
        other.close()

    creator = threading.Thread(target=create_and_hold)
    creator.start()
    held.wait(5)
    began = time.monotonic()
    store = SQLiteStore(path)                                 # was: "database is locked" at once, exit 1
    waited = time.monotonic() - began
    creator.join()
    try:
        assert waited >= 0.3                                  # it waited for the other's transaction
        assert store.environment_id()
    finally:
        store.close()
