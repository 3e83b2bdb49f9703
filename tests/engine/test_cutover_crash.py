"""kill -9 right after an approved Cutover reached the cloud (issue 9, item 8): the next apply finishes it from
what the cloud reports, without a new approval, without `status` saying it waits, and without a second SMN
message (notifications are journaled with an idempotency key before they are sent)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mgc_iac.cloud import LabControl
from mgc_iac.engine import CloudSteps
from mgc_iac.engine.status import stack_status
from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.model import StepAction
from mgc_iac.plan.planfile import plan_digest
from mgc_iac.state import StepStatus

from .helpers import apply, approve, approve_waiting
from .test_notifications_and_providers import _notify

HERE = Path(__file__).resolve().parent


def test_a_cutover_killed_after_the_cloud_call_finishes_on_resume(stack_dir, store, cloud_cfg, lab, cloud,
                                                                   tmp_path):
    _notify(stack_dir, lab.endpoint.project_id)
    assert apply(stack_dir, store, CloudSteps(cloud_cfg))[0].exit_code == 3  # BusinessValidation waits
    approve_waiting(stack_dir, store)
    assert apply(stack_dir, store, CloudSteps(cloud_cfg))[0].exit_code == 3  # Cutover waits
    plan = plan_stack(stack_dir, store=store).plan
    cutovers = sorted(g for g, r in store.snapshot("demo").steps.items() if r.status is StepStatus.WAITING)
    assert [g.rsplit("/", 1)[1] for g in cutovers] == ["Cutover", "Cutover"]
    # one Cutover approved: a step waiting on SMS lends its parallelism slot, so with both approved the other
    # server's Cutover would run meanwhile
    approve(store, "demo", cutovers[:1], plan_digest(plan), by="bob")
    sent_before = len(LabControl(cloud.settings).messages())
    assert sent_before == 2  # one "waiting" message per gate round

    marker = tmp_path / "cut.json"
    env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent)}
    proc = subprocess.Popen([sys.executable, str(HERE / "killed_at_cutover.py"), str(stack_dir),
                             json.dumps(cloud_cfg), str(marker)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the subprocess never reached Cutover: {proc.communicate()[1].decode()[-2000:]}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    gate = json.loads(marker.read_text())["gate"]
    server = gate.split("/")[1]

    record = store.snapshot("demo").steps[gate]
    assert record.status is StepStatus.RUNNING and record.detail["approved_by"] == ["bob"]
    [task] = [t for t in cloud.sms.list_tasks() if server in t.name] or [None]
    # the cloud had cut over (or is at it: SMS goes cutovering -> cutovered on its own); list items carry no
    # cycle, ShowTask's source_server does
    assert task is not None and cloud.sms.show_task(task.id).migration_cycle in ("cutovering", "cutovered")

    # the plan finishes the step: no new approval is asked, and status does not say it waits
    plan = plan_stack(stack_dir, store=store).plan
    [change] = [s for s in plan.server_changes if s.server == server]
    cut = next(s for s in change.steps if s.step == "Cutover")
    assert cut.action is StepAction.RUN and "without a new approval" in cut.reason
    assert gate not in plan.gates()
    entry = next(s for s in stack_status(plan, store.snapshot("demo"))["workflows"][0]["servers"]
                 if s["server"] == server)
    assert entry["state"] != "waiting"

    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    done = store.snapshot("demo").steps[gate]
    assert done.status is StepStatus.DONE and done.detail.get("resumed") is True
    assert done.detail["approved_by"] == ["bob"]  # who approved it, kept across the crash
    assert not any("waiting for manual confirmation" in m["subject"]
                   for m in LabControl(cloud.settings).messages()[sent_before:])
    # the other server's Cutover was not approved: it waits
    [other] = [w.gate for w in result.waiting]
    assert other != gate and other.endswith("/Cutover") and result.exit_code == 3
    approve_waiting(stack_dir, store, by="bob")
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 0, (result.failed, result.waiting)
    subjects = [m["subject"] for m in LabControl(cloud.settings).messages()]
    assert len(subjects) == sent_before + 1 and subjects[-1].endswith("migration succeeded"), subjects

    apply(stack_dir, store, CloudSteps(cloud_cfg))  # nothing left: no message sent again
    assert len(LabControl(cloud.settings).messages()) == sent_before + 1


def test_a_notification_is_claimed_once_per_key(store):
    with store.transaction("demo") as txn:
        assert txn.claim_notification("shop-wave-1/succeeded/abc", {"event": "succeeded"}) is True
    with store.transaction("demo") as txn:
        assert txn.claim_notification("shop-wave-1/succeeded/abc") is False
    with store.transaction("demo") as txn:
        txn.release_notification("shop-wave-1/succeeded/abc")  # its send failed: the next apply tries again
    with store.transaction("demo") as txn:
        assert txn.claim_notification("shop-wave-1/succeeded/abc") is True
    assert store.serial("demo") == 0  # claims do not move the serial (the digest to approve stays)
