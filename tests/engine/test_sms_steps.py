"""The step functions follow Huawei's states against the lab: StartSynchronization ends when continuous sync has
converged, Cutover and SourceClear fail at once on `error` / `clearfailed` (no 24 h wait), a state SMS does not
document is an error naming it, and DeleteTask is a plain DELETE whenever SMS accepts one."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest

import mgc_iac.cloud.sms_tasks as sms_tasks
import mgc_iac.engine.runners.sms_task as steps
from mgc_iac.cloud import LabControl, Progress, sms_states
from mgc_iac.errors import CloudError
from mgc_iac.lab.testing import lab_task_request


def _task(cloud: Any, syncing: bool = True, mac: str = "fa:16:3e:00:00:01") -> tuple[str, str]:
    source, request, _ = lab_task_request(cloud, mac=mac)
    return source, cloud.sms.create_task(replace(request, syncing=syncing))


@pytest.fixture(autouse=True)
def _short_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    # the fleet reader's cadence, short for the lab (a step that waited for its deadline instead of reading the
    # state would never end: these tests run without a stall deadline)
    monkeypatch.setattr(sms_tasks, "SMS_POLL_SECONDS", 0.2)


def test_start_synchronization_waits_for_a_round_begun_after_it_started(cloud: Any, cloud_cfg: dict[str, Any]) -> None:
    LabControl(cloud.settings).update_settings(instant_transfers=True, sync_interval_seconds=1.0)
    _, task = _task(cloud, syncing=True)
    started = steps.start_migration(cloud_cfg, task, threading.Event())
    assert started["task_state"] == "SYNCING"                    # continuous: no MIGRATE_SUCCESS to wait for
    time.sleep(1.2)
    before = cloud.sms.show_task(task)                           # round 1 ran before the step starts
    baseline = sms_states.sync_baseline(before)
    assert baseline > 0 and sms_states.converged(before, 0)
    done = steps.synchronize(cloud_cfg, task, threading.Event())
    after = cloud.sms.show_task(task)
    assert done["task_state"] == "SYNCING" and sms_states.sync_baseline(after) > baseline
    assert done["converged_round_end_ms"] >= sms_states.sync_baseline(after)


def test_cutover_fails_at_once_when_the_source_goes_to_error(cloud: Any, cloud_cfg: dict[str, Any]) -> None:
    LabControl(cloud.settings).update_settings(instant_transfers=True, transition_seconds=0.2)
    source, task = _task(cloud, syncing=False)
    steps.start_migration(cloud_cfg, task, threading.Event())
    LabControl(cloud.settings).fail_source(source, "cutover")
    target = cloud.sms.show_task(task).target_server_id
    with pytest.raises(CloudError, match="is error") as info:
        steps.cutover(cloud_cfg, task, target, True, threading.Event())
    assert "not finished after" not in str(info.value)


def test_source_clear_fails_at_once_on_clearfailed(cloud: Any, cloud_cfg: dict[str, Any]) -> None:
    LabControl(cloud.settings).update_settings(instant_transfers=True, transition_seconds=0.2)
    source, task = _task(cloud, syncing=False)
    steps.start_migration(cloud_cfg, task, threading.Event())
    LabControl(cloud.settings).fail_source(source, "clear")
    with pytest.raises(CloudError, match="clearfailed") as info:
        steps.clear_source(cloud_cfg, task, threading.Event())
    assert "not finished after" not in str(info.value)
    with pytest.raises(CloudError, match="clearfailed"):              # a retry reports it again, without acting
        steps.clear_source(cloud_cfg, task, threading.Event())


def test_a_state_sms_does_not_document_is_an_error_naming_it(cloud: Any, cloud_cfg: dict[str, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab answers only documented states, so this test rewrites one answer (a monkeypatched view, in this
    process's lab) to a state Huawei never listed: the step must name it instead of polling it."""
    from mgc_iac.lab.services import sms_views

    _, task = _task(cloud, syncing=False)
    real = sms_views.task_detail
    monkeypatch.setattr(sms_views, "task_detail", lambda lab, t: {**real(lab, t), "state": "MIGRATE_PAUSED"})
    with pytest.raises(sms_states.UnknownStateError, match="'MIGRATE_PAUSED'.*does not document"):
        steps.start_migration(cloud_cfg, task, threading.Event())


def test_delete_is_a_plain_delete_when_the_agent_is_gone_and_a_stop_first_only_when_sms_requires_it(
        cloud: Any, cloud_cfg: dict[str, Any]) -> None:
    control = LabControl(cloud.settings)
    control.update_settings(instant_transfers=False, transition_seconds=0.2, agent_timeout_seconds=0.5)
    source, task = _task(cloud, syncing=True)
    cloud.sms.task_action(task, "start")
    assert cloud.sms.show_command(source).name == "START"
    time.sleep(0.7)                                                   # the agent stops polling: disconnected
    sms_tasks.delete_sms_task(cloud_cfg, task, threading.Event())
    assert cloud.sms.list_tasks(source_id=source) == []
    control.update_settings(agent_timeout_seconds=60)
    assert cloud.sms.show_command(source).name == ""                  # no STOP was ever queued for it

    other, running = _task(cloud, syncing=True, mac="fa:16:3e:00:00:08")
    cloud.sms.task_action(running, "start")
    assert cloud.sms.show_command(other).name == "START"              # copying, its agent connected
    sms_tasks.delete_sms_task(cloud_cfg, running, threading.Event())
    assert cloud.sms.show_command(other).name == "STOP"               # SMS refuses that delete: paused first
    assert cloud.sms.list_tasks(source_id=other) == []


def test_start_migration_reports_a_failed_copy_with_the_agents_reason(cloud: Any, cloud_cfg: dict[str, Any]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    LabControl(cloud.settings).update_settings(instant_transfers=False)
    source, task = _task(cloud, syncing=True)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(steps.start_migration, cloud_cfg, task, threading.Event())
        while cloud.sms.show_command(source).name != "START":      # the step started the task: the agent polls
            time.sleep(0.05)
        cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 10, 1, 10))
        cloud.sms.report_command_result(source, "START", ok=False, detail={"reason": "rsync: disk full"})
        with pytest.raises(CloudError, match="MIGRATE_FAIL.*disk full"):
            waiting.result(timeout=60)
