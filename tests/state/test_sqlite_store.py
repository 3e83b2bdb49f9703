"""The SQLite state store: transactions, serial, the writer lock, account-wide sources, approvals."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from mgc_iac.errors import StateLockedError
from mgc_iac.state import (
    ApprovalRecord,
    ResourceRecord,
    SourceRecord,
    SQLiteStore,
    StepRecord,
    StepStatus,
)


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "state.db")
    yield s
    s.close()


def test_serial_increases_on_every_committed_change(store):
    assert store.serial("demo") == 0
    with store.transaction("demo") as txn:
        txn.put_resource(ResourceRecord("w/s/target_server", "target_server", "w", "s", {"name": "a"}, {"id": "1"}))
    assert store.serial("demo") == 1
    with store.transaction("demo") as txn:
        txn.put_step(StepRecord("w", "s", "CreateTarget", StepStatus.DONE))
        txn.journal("w/s/CreateTarget", "after", {"server_id": "1"})
    assert store.serial("demo") == 2
    with store.transaction("demo"):
        pass  # nothing written: the serial stays
    assert store.serial("demo") == 2
    snap = store.snapshot("demo")
    assert snap.resources["w/s/target_server"].outputs == {"id": "1"}
    assert snap.steps["w/s/CreateTarget"].status is StepStatus.DONE
    assert [e.phase for e in store.journal("demo")] == ["after"]


def test_a_failed_transaction_changes_nothing(store):
    with pytest.raises(RuntimeError), store.transaction("demo") as txn:
        txn.put_resource(ResourceRecord("w/s/target_server", "target_server", "w", "s", {}))
        raise RuntimeError("crash in the middle")
    assert store.serial("demo") == 0 and store.snapshot("demo").resources == {}


def test_state_survives_reopening(tmp_path):
    first = SQLiteStore(tmp_path / "s.db")
    with first.transaction("demo") as txn:
        txn.put_step(StepRecord("w", "s", "StartMigration", StepStatus.RUNNING, attempt=1))
    first.close()
    again = SQLiteStore(tmp_path / "s.db")
    assert again.snapshot("demo").steps["w/s/StartMigration"].attempt == 1
    again.close()


def test_a_second_writer_is_told_who_holds_the_lock(tmp_path, store):
    holder = textwrap.dedent(f"""
        import sys, time
        from mgc_iac.state import SQLiteStore
        s = SQLiteStore({str(tmp_path / 'state.db')!r})
        with s.lock("demo", "apply"):
            print("locked", flush=True)
            sys.stdin.readline()
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(StateLockedError) as info, store.lock("demo", "apply"):
            pass
        message = str(info.value)
        assert f"pid {proc.pid}" in message and "on host" in message and "since" in message
        with store.lock("other-stack", "apply"):
            pass  # locks are per stack
    finally:
        proc.communicate("\n", timeout=10)
    with store.lock("demo", "apply") as info:
        assert info.pid == os.getpid()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path, store):
    code = textwrap.dedent(f"""
        import os
        from mgc_iac.state import SQLiteStore
        s = SQLiteStore({str(tmp_path / 'state.db')!r})
        cm = s.lock("demo", "apply"); cm.__enter__()
        os._exit(9)  # like kill -9: no cleanup
    """)
    subprocess.run([sys.executable, "-c", code], check=False)
    assert store.lock_info("demo") is not None
    with store.lock("demo", "apply"):
        assert store.lock_info("demo").pid == os.getpid()
    assert store.lock_info("demo") is None


def test_macs_of_other_stacks(store):
    with store.transaction("a") as txn:
        txn.set_sources([SourceRecord("a", "web-01", "fa:16:3e:00:00:01")])
    with store.transaction("b") as txn:
        txn.set_sources([SourceRecord("b", "db-01", "fa:16:3e:00:00:02")])
    assert store.macs_elsewhere("a") == {"fa:16:3e:00:00:02": ("b", "db-01")}
    assert sorted(store.stacks()) == ["a", "b"]


def test_approvals_do_not_move_the_serial(store):
    with store.transaction("demo") as txn:
        txn.put_step(StepRecord("w", "s", "Cutover", StepStatus.WAITING))
    serial = store.serial("demo")
    with store.transaction("demo") as txn:
        txn.add_approval(ApprovalRecord("w/s/Cutover", "alice", "sha256:" + "a" * 64, "2026-11-25T00:00:00Z"))
    assert store.serial("demo") == serial
    assert [a.approver for a in store.approvals("demo")] == ["alice"]


def test_workflow_creation_order_is_account_wide(store):
    with store.transaction("a") as txn:
        txn.register_workflows(["w1", "w2"])
    with store.transaction("b") as txn:
        txn.register_workflows(["w0"])
    with store.transaction("a") as txn:
        txn.register_workflows(["w1", "w3"])  # w1 keeps its place
    a, b = store.snapshot("a").workflow_order, store.snapshot("b").workflow_order
    assert a["w1"] < a["w2"] < b["w0"] < a["w3"]
