"""Issue 20, point 4: the PostgreSQL state survives a blip. A terminated session or a restarted server mid-apply:
the store connects again, takes its lock back and the apply goes on. A server that stays away: one error line,
exit 1, no traceback, nothing lost (the next apply finishes). Real PostgreSQL servers (Debian's binaries), a real
lab; the blips are done to the server (pg_terminate_backend, pg_ctl stop/start), nothing is mocked."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mgc_iac.engine import CloudSteps, Engine, EngineOptions, RecordingHooks
from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.planfile import plan_digest
from mgc_iac.state import StepStatus, open_store
from mgc_iac.state.pg_local import LocalPostgres, find_bindir
from tests.conftest import local_postgres

pytestmark = pytest.mark.skipif(find_bindir() is None, reason="PostgreSQL's binaries are not installed")
REPO = Path(__file__).resolve().parent.parent.parent


class OnStep(RecordingHooks):
    """Does `action()` (in a thread: the blip overlaps the engine's own writes) when `step` of web-01 starts."""

    def __init__(self, step: str, action: Any) -> None:
        super().__init__()
        self.step, self.action, self.thread = step, action, None

    def step_started(self, gate: str, attempt: int) -> None:
        super().step_started(gate, attempt)
        if gate == f"shop-wave-1/web-01/{self.step}" and self.thread is None:
            self.thread = threading.Thread(target=self.action)
            self.thread.start()


def _apply(stack_dir: Path, store: Any, cloud_cfg: dict[str, Any], hooks: RecordingHooks) -> Any:
    plan = plan_stack(stack_dir, store=store).plan
    with store.lock(plan.stack, "apply"):
        return Engine(plan, plan_digest(plan), store, CloudSteps(cloud_cfg), hooks=hooks,
                      options=EngineOptions(parallelism=2)).run()


def test_a_terminated_session_mid_apply_is_reconnected_and_the_apply_goes_on(stack_dir, cloud_cfg, cloud, pg_url,
                                                                              pg_server):
    store = open_store(pg_url)

    def terminate() -> None:
        with psycopg.connect(pg_url, password=pg_server.password, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mgc-iac' "
                          "AND pid <> pg_backend_pid() AND datname = current_database()")

    hooks = OnStep("StartUpAgent", terminate)
    try:
        result = _apply(stack_dir, store, cloud_cfg, hooks)
        assert result.exit_code == 3, result.failed                 # both servers reached BusinessValidation
        steps = store.snapshot("demo").steps
        assert all(steps[f"shop-wave-1/{s}/StartMigration"].status is StepStatus.DONE for s in ("web-01", "db-01"))
        assert len(cloud.sms.list_tasks()) == 2                     # nothing done twice
        journal = store.journal("demo")
        befores = [e.address for e in journal if e.phase == "before"]
        assert len(befores) == len(set(befores))                    # each step began once
    finally:
        store.close()
    assert hooks.thread is not None


@pytest.fixture
def own_pg() -> Iterator[LocalPostgres]:
    """A PostgreSQL server of this test alone: it is stopped and started under the apply."""
    with local_postgres() as server:
        yield server


def test_a_restarted_server_mid_apply_is_waited_for_and_the_apply_goes_on(stack_dir, cloud_cfg, cloud, own_pg,
                                                                         monkeypatch):
    monkeypatch.setenv("PGPASSWORD", own_pg.password)
    store = open_store(own_pg.create_database())

    def restart() -> None:
        own_pg.halt()
        time.sleep(1.5)
        own_pg.resume()

    hooks = OnStep("StartMigration", restart)
    try:
        result = _apply(stack_dir, store, cloud_cfg, hooks)
        hooks.thread.join()
        assert result.exit_code == 3, result.failed
        assert len(cloud.sms.list_tasks()) == 2
        lock = store.lock_info("demo")
        assert lock is None                                         # released at the end, on the new session
    finally:
        store.close()


def test_a_server_that_stays_away_ends_the_apply_with_one_line_and_nothing_lost(stack_dir, own_pg, tmp_path):
    """The CLI: the database goes away for good mid-apply; apply prints one error line naming the state and exits
    1 (no traceback); once the database is back, apply again finishes the steps without doing any twice."""
    url = own_pg.create_database()
    lab_dir = tmp_path / "cli-lab"   # the CLI starts its own lab from the stack's seed (instant transfers)
    env = {**os.environ, "MGC_IAC_STATE": url, "PGPASSWORD": own_pg.password, "MGC_IAC_LAB_DIR": str(lab_dir),
           "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mgc_iac", "apply", str(stack_dir), "--auto-approve",
                             "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    def started() -> bool:   # a step began (the schema is there once the apply connected)
        try:
            return bool(watch.execute("SELECT EXISTS (SELECT 1 FROM mgc_iac.steps WHERE step = 'StartUpAgent')"
                                      ).fetchone()[0])
        except psycopg.errors.UndefinedTable:
            return False

    with psycopg.connect(url, password=own_pg.password, autocommit=True) as watch:
        while not started():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
    own_pg.halt()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "lost the connection to the PostgreSQL state at" in errors[0], err
    assert "Traceback" not in err and own_pg.password not in out + err

    own_pg.resume()
    try:
        again = subprocess.run([sys.executable, "-m", "mgc_iac", "apply", str(stack_dir), "--auto-approve",
                                "--no-progress"], env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 3, again.stdout + again.stderr
        from mgc_iac.cloud import Cloud, CloudSettings
        from mgc_iac.lab import ensure_lab

        assert len(Cloud(CloudSettings.for_lab(ensure_lab(lab_dir))).sms.list_tasks()) == 2
    finally:
        subprocess.run([sys.executable, "-m", "mgc_iac", "lab", "down"], env=env, capture_output=True, timeout=60)
