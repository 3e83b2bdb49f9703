"""The StateStore contract, proven the same way for SQLite and for PostgreSQL (a real server, started by the test
session): serials, transactions, the journal, approvals, locks (who holds them, dying with a killed holder,
re-entrant, broken by id), account-wide MACs and workflow order, the account-wide migration slots and FIFO."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from mgc_iac.errors import StateError, StateLockedError, UserError
from mgc_iac.state import (
    ApprovalRecord,
    ResourceRecord,
    SourceRecord,
    StepRecord,
    StepStatus,
    open_store,
)
from mgc_iac.state.store import SlotRequest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    """Where the backend is: a SQLite file, or a fresh database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(location):
    s = open_store(location)
    yield s
    s.close()


def _child(location: str, body: str) -> subprocess.Popen[str]:
    code = "from mgc_iac.state import open_store\n" + f"s = open_store({location!r})\n" + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": REPO,
                                                                   "GITHUB_RUN_ID": "4242"})


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
    assert snap.serial == 2
    assert snap.resources["w/s/target_server"].outputs == {"id": "1"}
    assert snap.resources.attrs_text("w/s/target_server") == '{"name":"a"}'
    assert snap.steps["w/s/CreateTarget"].status is StepStatus.DONE
    assert [e.phase for e in store.journal("demo")] == ["after"]
    with store.transaction("demo") as txn:
        txn.delete_resource("w/s/target_server")
    assert "w/s/target_server" not in store.snapshot("demo").resources and store.serial("demo") == 3


def test_a_failed_transaction_changes_nothing(store):
    with pytest.raises(RuntimeError), store.transaction("demo") as txn:
        txn.put_resource(ResourceRecord("w/s/target_server", "target_server", "w", "s", {}))
        txn.journal("w/s/target_server", "before")
        raise RuntimeError("crash in the middle")
    assert store.serial("demo") == 0 and len(store.snapshot("demo").resources) == 0 and store.journal("demo") == []


def test_snapshot_steps_are_the_records_written(store):
    """The snapshot reads steps as compact rows (names cut from the gate, statuses as codes): every record comes back
    whole, names of any length and alphabet, every status, empty and non-empty details."""
    written = [StepRecord("wave-1", "srv-a", "CreateTarget", StepStatus.DONE, updated_at="2026-12-01T00:00:00Z"),
               StepRecord("w", "s" * 300, "Cutover", StepStatus.RUNNING, attempt=2,
                          detail={"approved_by": ["ann"], "note": "{}"}, updated_at="t"),
               StepRecord("vague-é-西", "srv/with/slashes", "StartMigration", StepStatus.FAILED, attempt=300,
                          detail={}, updated_at="u")]
    written += [StepRecord("all", f"s-{s.value}", "SourceClear", s, updated_at="v") for s in StepStatus]
    with store.transaction("demo") as txn:
        for record in written:
            txn.put_step(record)
    steps = store.snapshot("demo").steps
    assert {gate: steps[gate] for gate in steps} == {r.gate: r for r in written}
    assert steps.statuses() == {r.gate: r.status.value for r in written}


def test_state_survives_reopening(location):
    first = open_store(location)
    with first.transaction("demo") as txn:
        txn.put_step(StepRecord("w", "s", "StartMigration", StepStatus.RUNNING, attempt=1, detail={"task": "t1"}))
    first.close()
    again = open_store(location)
    record = again.snapshot("demo").steps["w/s/StartMigration"]
    assert (record.attempt, record.detail) == (1, {"task": "t1"})
    assert again.stacks() == ["demo"]
    again.close()


def test_the_journal_keeps_order_and_limits(store):
    for i in range(5):
        with store.transaction("demo") as txn:
            txn.journal(f"w/s{i}/CreateTarget", "before", {"i": i})
    entries = store.journal("demo", limit=2)
    assert [e.detail["i"] for e in entries] == [3, 4] and entries[0].seq < entries[1].seq
    assert len(store.journal("demo")) == 5 and store.journal("other") == []


def test_a_second_writer_is_told_who_holds_the_lock(location, store):
    proc = _child(location, """
        import sys
        with s.lock("demo", "apply") as info:
            print(info.lock_id, flush=True)
            sys.stdin.readline()
    """)
    try:
        lock_id = proc.stdout.readline().strip()
        assert lock_id, proc.stderr.read()
        with pytest.raises(StateLockedError) as info, store.lock("demo", "apply"):
            pass
        message = str(info.value)
        assert f"pid {proc.pid}" in message and "on host" in message and "since" in message
        assert "runner GITHUB_RUN_ID=4242" in message and f"state unlock --force {lock_id}" in message
        held = store.lock_info("demo")
        assert (held.pid, held.lock_id, held.operation) == (proc.pid, lock_id, "apply")
        with store.lock("other-stack", "apply"):
            pass  # locks are per stack
    finally:
        proc.communicate("\n", timeout=20)
    with store.lock("demo", "apply") as mine:
        assert mine.pid == os.getpid()
    assert store.lock_info("demo") is None


def test_a_lock_left_by_a_killed_process_is_taken_over(location, store):
    proc = _child(location, """
        import os
        cm = s.lock("demo", "apply"); cm.__enter__()
        print("locked", flush=True)
        os._exit(9)  # like kill -9: no cleanup
    """)
    assert proc.stdout.readline().strip() == "locked"
    proc.wait(timeout=20)
    with store.lock("demo", "apply"):
        assert store.lock_info("demo").pid == os.getpid()
    assert store.lock_info("demo") is None


def test_the_lock_is_reentrant_in_one_process_and_broken_only_by_its_id(store):
    with store.lock("demo", "apply") as outer:
        with store.lock("demo", "apply") as inner:
            assert inner.lock_id == outer.lock_id
        assert store.lock_info("demo").lock_id == outer.lock_id  # the inner exit did not release it
    assert store.lock_info("demo") is None

    proc = _child(store.url if hasattr(store, "url") else str(store.path), """
        import sys, time
        cm = s.lock("demo", "apply"); info = cm.__enter__()
        print(info.lock_id, flush=True)
        time.sleep(60)
    """)
    try:
        lock_id = proc.stdout.readline().strip()
        assert store.force_unlock("demo", "0000") is None  # compare-and-delete: another id leaves it held
        assert store.lock_info("demo").lock_id == lock_id
        assert store.force_unlock("demo", lock_id).lock_id == lock_id
        with store.lock("demo", "apply"):
            pass  # the lock is free for the next holder
    finally:
        proc.kill()
        proc.communicate()


def test_macs_are_unique_across_the_stacks_of_a_backend(store):
    with store.transaction("a") as txn:
        txn.set_sources([SourceRecord("a", "web-01", "fa:16:3e:00:00:01")])
    with store.transaction("b") as txn:
        txn.set_sources([SourceRecord("b", "db-01", "fa:16:3e:00:00:02")])
    assert store.macs_elsewhere("a") == {"fa:16:3e:00:00:02": ("b", "db-01")}
    assert sorted(store.stacks()) == ["a", "b"]
    serial = store.serial("b")
    with pytest.raises(UserError, match="fa:16:3e:00:00:01 of source web-09 is already migrated by source web-01 "
                                        "of stack `a`"), store.transaction("b") as txn:
        txn.set_sources([SourceRecord("b", "db-01", "fa:16:3e:00:00:02"),
                         SourceRecord("b", "web-09", "fa:16:3e:00:00:01")])
    assert store.serial("b") == serial and store.macs_elsewhere("a") == {"fa:16:3e:00:00:02": ("b", "db-01")}


def test_approvals_do_not_move_the_serial(store):
    with store.transaction("demo") as txn:
        txn.put_step(StepRecord("w", "s", "Cutover", StepStatus.WAITING))
    serial = store.serial("demo")
    with store.transaction("demo") as txn:
        txn.add_approval(ApprovalRecord("w/s/Cutover", "alice", "sha256:" + "a" * 64, "2026-11-25T00:00:00Z"))
        txn.add_approval(ApprovalRecord("w/s/Cutover", "alice", "sha256:" + "a" * 64, "2026-11-25T00:00:01Z"))
    assert store.serial("demo") == serial
    assert [(a.approver, a.at) for a in store.approvals("demo")] == [("alice", "2026-11-25T00:00:01Z")]


def test_workflow_creation_order_is_account_wide(store):
    with store.transaction("a") as txn:
        txn.register_workflows(["w1", "w2"])
    with store.transaction("b") as txn:
        txn.register_workflows(["w0"])
    with store.transaction("a") as txn:
        txn.register_workflows(["w1", "w3"])  # w1 keeps its place
    a, b = store.snapshot("a").workflow_order, store.snapshot("b").workflow_order
    assert a["w1"] < a["w2"] < b["w0"] < a["w3"]


def _requests(workflow: str, seq: int, servers: list[str]) -> list[SlotRequest]:
    return [SlotRequest(workflow, s, (seq, i)) for i, s in enumerate(servers)]


def test_the_cap_is_account_wide_and_the_queue_first_in_first_out(location, store):
    other = open_store(location)  # a second apply (another connection) on another stack
    try:
        with store.lock("a", "apply"), other.lock("b", "apply"):
            first = store.claim_slots("a", _requests("wa", 1, ["s1", "s2", "s3"]), cap=4)
            assert first.granted == (("wa", "s1"), ("wa", "s2"), ("wa", "s3")) and first.held == 3
            second = other.claim_slots("b", _requests("wb", 2, ["t1", "t2", "t3"]), cap=4)
            assert second.granted == (("wb", "t1"),) and second.positions == {("wb", "t2"): 1, ("wb", "t3"): 2}
            assert second.others_running  # stack a's apply is alive and holds slots: waiting can pay off
            # an older workflow of a third stack waits too: it goes ahead of b's queue once a slot frees
            third = open_store(location)
            try:
                with third.lock("c", "apply"):
                    queued = third.claim_slots("c", _requests("wc", 0, ["u1"]), cap=4)
                    assert queued.granted == () and queued.positions == {("wc", "u1"): 1}
                    with store.transaction("a") as txn:  # s1 finishes its last step: its slot comes back
                        txn.put_step(StepRecord("wa", "s1", "MigrationTaskClear", StepStatus.DONE))
                    assert store.slots("a") == {("wa", "s2"), ("wa", "s3")}
                    again = other.claim_slots("b", _requests("wb", 2, ["t2", "t3"]), cap=4)
                    assert again.granted == () and again.positions == {("wb", "t2"): 1, ("wb", "t3"): 2}
                    assert third.claim_slots("c", _requests("wc", 0, ["u1"]), cap=4).granted == (("wc", "u1"),)
                    third.leave_queue("c")
            finally:
                third.close()
            with store.transaction("a") as txn:
                txn.put_step(StepRecord("wa", "s2", "MigrationTaskClear", StepStatus.SKIPPED))
            assert other.claim_slots("b", _requests("wb", 2, ["t2", "t3"]), cap=4).granted == (("wb", "t2"),)
    finally:
        other.close()


def test_a_dead_applys_queue_does_not_block_the_living(location, store):
    proc = _child(location, """
        import os
        from mgc_iac.state.store import SlotRequest
        cm = s.lock("dead", "apply"); cm.__enter__()
        s.claim_slots("dead", [SlotRequest("wd", "x", (0, 0))], cap=0)
        print("queued", flush=True)
        os._exit(9)
    """)
    assert proc.stdout.readline().strip() == "queued", proc.stderr.read()
    proc.wait(timeout=20)
    with store.lock("alive", "apply"):
        claim = store.claim_slots("alive", _requests("wl", 5, ["y"]), cap=1)
    assert claim.granted == (("wl", "y"),)


def test_a_started_server_holds_its_slot_even_without_a_claim(store):
    with store.transaction("a") as txn:  # e.g. `retry` ran a step: it still counts against the cap
        txn.put_step(StepRecord("w", "s", "StartUpAgent", StepStatus.RUNNING))
        txn.put_step(StepRecord("w", "q", "CreateTarget", StepStatus.QUEUED))
    assert store.slots("a") == {("w", "s")}
    with store.lock("b", "apply"):
        assert store.claim_slots("b", _requests("v", 9, ["z"]), cap=1).positions == {("v", "z"): 1}


def test_a_newer_schema_is_refused(location, store):
    store.close()
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute("INSERT INTO mgc_iac.schema_migrations (version) VALUES (999)")
    else:
        import sqlite3

        db = sqlite3.connect(location)
        db.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
        db.commit()
        db.close()
    with pytest.raises(StateError, match="newer"):
        open_store(location)


# --- read-only access (issue 19): plan, validate, status and report never write the state ------------------

def test_a_read_only_store_reads_everything_and_writes_nothing(location, store):
    with store.transaction("demo") as txn:
        txn.put_step(StepRecord("w", "s", "CreateTarget", StepStatus.DONE))
    store.close()
    reader = open_store(location, read_only=True)
    try:
        assert reader.serial("demo") == 1 and "w/s/CreateTarget" in reader.snapshot("demo").steps
        for write in (lambda: reader.transaction("demo").__enter__(), lambda: reader.lock("demo", "plan").__enter__(),
                      lambda: reader.claim_slots("demo", [SlotRequest("w", "s", (1, 0))], 1),
                      lambda: reader.leave_queue("demo")):
            with pytest.raises(StateError, match="read-only"):
                write()
    finally:
        reader.close()
    again = open_store(location)
    try:
        assert again.serial("demo") == 1 and again.lock_info("demo") is None
    finally:
        again.close()


def test_a_location_with_no_state_is_read_as_empty_and_never_created(location):
    from mgc_iac.state import EmptyStore

    reader = open_store(location, read_only=True)
    assert isinstance(reader, EmptyStore) and reader.snapshot("demo").serial == 0 and reader.last_applied("x") is None
    with pytest.raises(StateError):
        reader.transaction("demo").__enter__()
    reader.close()
    if "://" in location:
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            assert conn.execute("SELECT to_regnamespace('mgc_iac')").fetchone()[0] is None
    else:
        assert not os.path.exists(location)


def test_a_sqlite_file_another_apply_is_creating_reads_as_empty(tmp_path):
    """A second apply that opens the file while the first is creating it sees no state, not `no such table`."""
    import sqlite3

    from mgc_iac.state import EmptyStore

    path = tmp_path / "state.db"
    creating = sqlite3.connect(path)
    creating.execute("PRAGMA journal_mode=WAL")  # the file exists, its tables are not committed yet
    creating.execute("BEGIN IMMEDIATE")
    creating.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    reader = open_store(path, read_only=True)
    assert isinstance(reader, EmptyStore) and reader.snapshot("demo").serial == 0
    reader.close()
    creating.rollback()
    creating.close()


def test_what_the_last_apply_ran_with_is_recorded_without_moving_the_serial(location, store):
    from mgc_iac.state import AppliedRecord

    assert store.last_applied("demo") is None
    policy = {"required_approvers": 2, "signers": ["alice@example.com ssh-ed25519 AAAA"]}
    with store.transaction("demo") as txn:
        txn.record_applied(AppliedRecord("sha256:" + "1" * 64, policy, git_commit="abc"))
    got = store.last_applied("demo")
    assert got.policy == policy and got.spec_digest.endswith("1" * 64) and got.git_commit == "abc" and got.at
    assert store.serial("demo") == 0
    with store.transaction("demo") as txn:
        txn.record_applied(AppliedRecord("sha256:" + "2" * 64, {**policy, "required_approvers": 3}))
    assert store.last_applied("demo").policy["required_approvers"] == 3
    assert store.export_stack("demo").applied.spec_digest.endswith("2" * 64)


def test_the_example_grants_let_the_plan_role_read_and_never_write(pg_server, pg_url):
    """examples/ci/mgc-iac/state-roles.sql, as a DBA runs it: apply (as the apply role) creates and writes the
    state; a pull request's job logs in as the plan role, reads the state, and every write is refused."""
    import psycopg

    database = pg_url.rsplit("/", 1)[1]
    with open(os.path.join(REPO, "examples", "ci", "mgc-iac", "state-roles.sql")) as file:
        sql = file.read()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'mgc_iac_plan'").fetchone():
            # roles belong to the server: an earlier test's database made them (a DBA runs it once too)
            sql = sql.replace("CREATE ROLE mgc_iac_apply LOGIN;", "").replace("CREATE ROLE mgc_iac_plan LOGIN;", "")
        conn.execute(sql)
        conn.execute("ALTER ROLE mgc_iac_apply PASSWORD 'apply-pw'")
        conn.execute("ALTER ROLE mgc_iac_plan PASSWORD 'plan-pw'")
    apply_url = f"postgresql://mgc_iac_apply@127.0.0.1:{pg_server.port}/{database}"
    plan_url = f"postgresql://mgc_iac_plan@127.0.0.1:{pg_server.port}/{database}"
    os.environ["PGPASSWORD"] = "plan-pw"
    before = open_store(plan_url, read_only=True)  # nothing applied yet: an empty state, nothing created
    assert before.snapshot("demo").serial == 0
    before.close()
    os.environ["PGPASSWORD"] = "apply-pw"
    writer = open_store(apply_url)
    with writer.transaction("demo") as txn:
        txn.put_step(StepRecord("w", "s", "BusinessValidation", StepStatus.WAITING))
    writer.close()
    os.environ["PGPASSWORD"] = "plan-pw"
    reader = open_store(plan_url, read_only=True)
    try:
        assert reader.snapshot("demo").steps["w/s/BusinessValidation"].status is StepStatus.WAITING
    finally:
        reader.close()
    with pytest.raises(StateError):  # a writer's open (schema upgrade, advisory lock) as the plan role
        s = open_store(plan_url)
        with s.transaction("demo") as txn:
            txn.put_step(StepRecord("w", "s", "Cutover", StepStatus.RUNNING, detail={"approved_by": ["mallory"]}))
    with psycopg.connect(plan_url, password="plan-pw", autocommit=True) as conn:  # raw SQL, as a hostile job would
        for statement in ("UPDATE mgc_iac.steps SET status = 'done'", "DELETE FROM mgc_iac.approvals",
                          "INSERT INTO mgc_iac.applied VALUES ('demo', 'x', '{}', 'now', '')",
                          "CREATE TABLE public.planted (x int)"):
            with pytest.raises(psycopg.Error):
                conn.execute(statement)
