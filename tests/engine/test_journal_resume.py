"""The write-ahead journal: a killed apply resumes exactly where it was, without doing anything twice;
a failed step fails only its server; approvals, staleness and the lock are enforced."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mgc_iac.engine import CloudSteps, Engine, EngineOptions
from mgc_iac.errors import CloudUnavailableError, StalePlanError, StateLockedError
from mgc_iac.state import StepStatus, open_store

from .helpers import apply, approve, current

HERE = Path(__file__).resolve().parent
WEB = "shop-wave-1/web-01"
DB = "shop-wave-1/db-01"


def _start_until_created(stack_dir, cloud_cfg, marker, *extra):
    env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent)}
    proc = subprocess.Popen([sys.executable, str(HERE / "killed_apply.py"), str(stack_dir), json.dumps(cloud_cfg),
                             str(marker), *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the subprocess never reached its step: {err.decode()[-2000:]}")
        time.sleep(0.05)
    return proc


def test_sigkill_mid_step_resumes_without_a_second_server(stack_dir, store, cloud_cfg, cloud, tmp_path):
    marker = tmp_path / "created.json"
    proc = _start_until_created(stack_dir, cloud_cfg, marker)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    created = json.loads(marker.read_text())["server_id"]

    snap = store.snapshot("demo")
    [running] = [r for r in snap.steps.values() if r.status is StepStatus.RUNNING]
    assert running.step == "CreateTarget" and running.attempt == 1
    assert store.journal("demo")[-1].phase == "before"  # the kill came between 'before' and 'after'
    # nothing of the server recorded (it exists only in the cloud); the workflow's topic was set up before
    assert set(snap.resources) == {"shop-wave-1/notification"}

    result, hooks = apply(stack_dir, store, CloudSteps(cloud_cfg))  # the dead process's lock does not block
    assert result.exit_code == 3, result.failed
    assert any(e[0] == "message" and "interrupted" in e[1] for e in hooks.events)
    gate = f"{running.workflow}/{running.server}/CreateTarget"
    record = store.snapshot("demo").steps[gate]
    assert record.status is StepStatus.DONE and record.attempt == 2 and record.detail["resumed"] is True
    # the replayed create carried the same X-Client-Token: the server created before the kill was found
    assert record.detail["server_id"] == created
    for name in ("web-01-hw", "db-01-hw"):
        assert len(cloud.ecs.find_servers(name=name)) == 1


class FailBeforeCloud(CloudSteps):
    """Raises between the engine's 'before' record and the cloud call, once, for one server's step: a fault
    the lab cannot produce at that exact point (the lab's faults act on HTTP calls)."""

    def __init__(self, cfg, gate):
        super().__init__(cfg)
        self.gate = gate

    def run_step(self, ctx):
        if ctx.gate == self.gate:
            raise CloudUnavailableError("connection lost", service="sms", operation="update_task_status")
        return super().run_step(ctx)


def test_a_failed_step_fails_its_server_only_and_runs_again_next_apply(stack_dir, store, cloud_cfg):
    result, _ = apply(stack_dir, store, FailBeforeCloud(cloud_cfg, f"{WEB}/StartMigration"))
    assert result.exit_code == 1
    assert list(result.failed) == [f"{WEB}/StartMigration"]
    assert [w.gate for w in result.waiting] == [f"{DB}/BusinessValidation"]  # the other server carried on
    steps = store.snapshot("demo").steps
    assert steps[f"{WEB}/StartMigration"].status is StepStatus.FAILED
    assert "connection lost" in steps[f"{WEB}/StartMigration"].detail["error"]
    phases = [e.phase for e in store.journal("demo") if e.address == f"{WEB}/StartMigration"]
    assert phases == ["before", "failed"]

    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3
    assert store.snapshot("demo").steps[f"{WEB}/StartMigration"].attempt == 2
    assert sorted(w.gate for w in result.waiting) == [f"{DB}/BusinessValidation", f"{WEB}/BusinessValidation"]


def test_gates_pass_with_approvals_and_record_who_approved(stack_dir, store, cloud_cfg):
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3
    plan, digest = current(stack_dir, store)
    assert digest == result.approve_digest
    approve(store, "demo", [f"{WEB}/BusinessValidation"], "sha256:" + "1" * 64)  # another plan: discarded
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3 and len(result.waiting) == 2 and not result.done  # nothing moved

    approve(store, "demo", [f"{WEB}/BusinessValidation"], digest, by="alice")
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert sorted(w.gate for w in result.waiting) == [f"{DB}/BusinessValidation", f"{WEB}/Cutover"]
    detail = store.snapshot("demo").steps[f"{WEB}/BusinessValidation"].detail
    assert detail["approved_by"] == ["alice"] and detail["plan_digest"] == digest


def test_a_stale_plan_and_a_held_lock_are_refused(stack_dir, store, cloud_cfg, isolated_state):
    plan, digest = current(stack_dir, store)
    apply(stack_dir, store, CloudSteps(cloud_cfg))
    with pytest.raises(StalePlanError, match="state serial"):
        Engine(plan, digest, store, CloudSteps(cloud_cfg),
               options=EngineOptions(expected_serial=plan.state_serial)).run()
    plan, digest = current(stack_dir, store)
    other = open_store(isolated_state)  # another writer (the lock is re-entrant within one store)
    try:
        with other.lock("demo", "apply"), pytest.raises(StateLockedError, match="locked by pid"):
            Engine(plan, digest, store, CloudSteps(cloud_cfg)).run()
    finally:
        other.close()


def test_the_account_wide_cap_queues_servers_in_workflow_order(stack_dir, store, cloud_cfg):
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg), max_concurrent_migrations=1)
    assert result.exit_code == 3
    assert [w.gate for w in result.waiting] == [f"{WEB}/BusinessValidation"]  # web-01 comes first in the spec
    assert result.queued == {DB: 1}
    record = store.snapshot("demo").steps[f"{DB}/CreateTarget"]
    assert record.status is StepStatus.QUEUED and record.detail["queue_position"] == 1
    # re-applying while queued changes nothing, so the digest to approve stays valid
    serial = store.serial("demo")
    apply(stack_dir, store, CloudSteps(cloud_cfg), max_concurrent_migrations=1)
    assert store.serial("demo") == serial

    # one approval per release: this stack lets the reviewed plan's gates be approved before they wait
    spec = stack_dir / "stack.yaml"
    spec.write_text(spec.read_text().replace("allow_plan_author: true",
                                             "allow_plan_author: true\n  allow_advance: true"))
    plan, digest = current(stack_dir, store)
    approve(store, "demo", plan.gates(), digest)  # every gate of both servers, for this plan
    result, hooks = apply(stack_dir, store, CloudSteps(cloud_cfg), max_concurrent_migrations=1)
    assert result.exit_code == 0, (result.failed, result.waiting)
    finished = [e[1] for e in hooks.events if e[0] == "finished" and e[2] == "done"]
    # db-01 started only when web-01's migration ended and freed the slot
    assert finished.index(f"{WEB}/MigrationTaskClear") < finished.index(f"{DB}/CreateTarget")


def test_ctrl_c_stops_cleanly_and_the_next_apply_resumes(stack_dir, store, cloud_cfg, tmp_path):
    proc = _start_until_created(stack_dir, cloud_cfg, tmp_path / "created.json", "poll")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert json.loads(out.decode().strip().splitlines()[-1]) == {"interrupted": True, "exit_code": 130}, err
    assert store.lock_info("demo") is None  # the lock was released
    [running] = [r for r in store.snapshot("demo").steps.values() if r.status is StepStatus.RUNNING]
    assert running.step == "CreateTarget"
    assert [e.phase for e in store.journal("demo")][-2:] == ["before", "interrupted"]
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3 and not result.failed


def test_sigkill_mid_test_launch_adopts_the_clone_instead_of_making_another(stack_dir, store, cloud_cfg, cloud,
                                                                           tmp_path):
    """Killed once SMS made a clone (TestLaunch RUNNING, the clone alive): the next apply finds that clone
    (ShowTask's clone_server) and goes on with it; it never asks clone_test again (which SMS would refuse)."""
    path = stack_dir / "workflows.yaml"
    name = "  - name: shop-wave-1\n"
    path.write_text(path.read_text().replace(name, name + "    test_launch: clone\n", 1))
    marker = tmp_path / "cloned.json"
    proc = _start_until_created(stack_dir, cloud_cfg, marker, "step=TestLaunch")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    made = json.loads(marker.read_text())["test_instance"]
    running = [r for r in store.snapshot("demo").steps.values() if r.status is StepStatus.RUNNING]
    assert "TestLaunch" in {r.step for r in running}

    result, hooks = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3, result.failed
    assert sorted(w.gate for w in result.waiting) == [f"{DB}/TestValidation", f"{WEB}/TestValidation"]
    clones = {s.name: s.id for s in cloud.ecs.find_servers() if s.name.endswith("-clone")}
    assert sorted(clones) == ["db-01-hw-clone", "web-01-hw-clone"]        # one clone per target, no second one
    steps = store.snapshot("demo").steps
    launched = {steps[f"{a}/TestLaunch"].detail["test_instance"]["id"] for a in (WEB, DB)}
    assert made["id"] in launched and launched == set(clones.values())    # the killed apply's clone was adopted
