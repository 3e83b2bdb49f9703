"""`state migrate`'s copy between backends: every stack of a SQLite backend to PostgreSQL and back, whole (records,
serials, journal, approvals, sources and the account-wide workflow order across stacks), refusing to overwrite."""

from __future__ import annotations

import pytest

from mgc_iac.errors import UserError
from mgc_iac.state import ApprovalRecord, ResourceRecord, SourceRecord, StepRecord, StepStatus, open_store
from mgc_iac.state.migrate import copy_stacks, differences


def _fill(store) -> None:
    with store.transaction("a") as txn:
        txn.register_workflows(["wa1"])
        txn.set_sources([SourceRecord("a", "web-01", "fa:16:3e:00:00:01")])
        txn.put_resource(ResourceRecord("wa1/web-01/target_server", "target_server", "wa1", "web-01",
                                        {"name": "web-01", "flavor": "s6.large.2"}, {"id": "i-1"}))
        txn.put_step(StepRecord("wa1", "web-01", "StartMigration", StepStatus.RUNNING, 2, {"task": "t-1"}))
        txn.journal("wa1/web-01/StartMigration", "before", {"attempt": 2})
        txn.add_approval(ApprovalRecord("wa1/web-01/Cutover", "alice", "sha256:" + "b" * 64, "2026-12-01T00:00:00Z"))
    with store.transaction("b") as txn:
        txn.register_workflows(["wb1"])
        txn.set_sources([SourceRecord("b", "db-01", "fa:16:3e:00:00:02")])
        txn.put_step(StepRecord("wb1", "db-01", "CreateTarget", StepStatus.QUEUED, 0, {"queue_position": 1}))
    with store.transaction("a") as txn:
        txn.register_workflows(["wa1", "wa2"])  # created after b's workflow


def test_every_stack_goes_to_postgresql_and_back_whole(tmp_path, pg_url):
    sqlite = open_store(str(tmp_path / "state.db"))
    pg = open_store(pg_url)
    back = open_store(str(tmp_path / "back.db"))
    try:
        _fill(sqlite)
        copied = copy_stacks(sqlite, pg, sqlite.stacks())
        assert [c.stack for c in copied] == ["a", "b"] and differences(sqlite, pg, ["a", "b"]) == []
        order = {**pg.snapshot("a").workflow_order, **pg.snapshot("b").workflow_order}
        assert order["wa1"] < order["wb1"] < order["wa2"]  # the account-wide creation order survives
        assert pg.serial("a") == sqlite.serial("a") and pg.slots("a") == {("wa1", "web-01")}
        assert pg.macs_elsewhere("a") == {"fa:16:3e:00:00:02": ("b", "db-01")}
        with pytest.raises(UserError, match="already has state"):
            copy_stacks(sqlite, pg, ["a"])
        assert pg.serial("a") == sqlite.serial("a")  # nothing was written by the refused copy
        copy_stacks(pg, back, ["a", "b"])
        assert differences(sqlite, back, ["a", "b"]) == []
        assert sqlite.lock_info("a") is None  # the source's locks were held only during the copy
    finally:
        for s in (sqlite, pg, back):
            s.close()
