"""The state backend's identity (what approvals are bound to), schema 1 -> 2, and lock ids."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mgc_iac.state import ApprovalRecord, open_store


def test_each_backend_gets_its_own_random_id_kept_for_its_life(tmp_path: Path) -> None:
    first, second = open_store(tmp_path / "a.db"), open_store(tmp_path / "b.db")
    try:
        ids = first.environment_id(), second.environment_id()
        assert ids[0] != ids[1] and len(ids[0]) == 32
    finally:
        first.close()
        second.close()
    again = open_store(tmp_path / "a.db")
    try:
        assert again.environment_id() == ids[0]
    finally:
        again.close()


def test_a_schema_1_backend_is_upgraded_and_keeps_its_approvals(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE approvals (stack TEXT NOT NULL, gate TEXT NOT NULL, approver TEXT NOT NULL, plan_digest TEXT "
        "NOT NULL, at TEXT NOT NULL, via TEXT NOT NULL, PRIMARY KEY (stack, gate, approver, plan_digest));"
        "INSERT INTO meta VALUES ('schema_version', '1');"
        "INSERT INTO approvals VALUES ('s', 'w/s/Cutover', 'alice', 'sha256:x', 't', 'cli');")
    db.commit()
    db.close()
    store = open_store(path)
    try:
        [old] = store.approvals("s")
        assert (old.approver, old.signature, old.signed_gates) == ("alice", "", ())
        with store.transaction("s") as txn:
            txn.add_approval(ApprovalRecord("w/s/BusinessValidation", "bob@example.com", "sha256:y", "t2", "cli",
                                            "-----BEGIN SSH SIGNATURE-----\n...", ("w/s/BusinessValidation",)))
        assert store.approvals("s")[1].signed_gates == ("w/s/BusinessValidation",)
        assert store.environment_id()
    finally:
        store.close()


def test_a_lock_has_an_id_and_force_unlock_removes_only_that_lock(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    try:
        with store.lock("demo", "apply") as info:
            assert store.lock_info("demo").lock_id == info.lock_id and len(info.lock_id) >= 16
            assert store.force_unlock("demo", "another-id") is None  # compare-and-delete
            assert store.lock_info("demo") is not None
            assert store.force_unlock("demo", info.lock_id).lock_id == info.lock_id
            assert store.lock_info("demo") is None
    finally:
        store.close()
