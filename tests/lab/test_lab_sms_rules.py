"""The lab's SMS behaves as Huawei documents it, where our client's mistakes would show: continuous
synchronisation after the full copy (PostTask.syncing), DeleteTask's rule (agent disconnected, or the task
verification-failed, ready, finished, error or paused), and the failure states `error` / `clearfailed`, which
the lab reaches by fault injection (POST /_lab/sms/fail)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mgc_iac.cloud import Cloud, LabControl, Progress
from mgc_iac.errors import CloudConflictError, CloudError, CloudNotFoundError
from mgc_iac.lab.testing import RunningLab, lab_task_request


class Clock:
    """The lab's clock, moved by the test (transitions and sync rounds happen when it says so)."""

    def __init__(self, lab: RunningLab) -> None:
        self.now = 1.8e9
        assert lab.server.lab is not None
        lab.server.lab.clock = lambda: self.now
        LabControl(lab.settings).update_settings(transition_seconds=5, sync_interval_seconds=10,
                                                 agent_timeout_seconds=60)

    def tick(self, seconds: float = 11) -> None:
        self.now += seconds


def _task(cloud: Cloud, syncing: bool, mac: str = "fa:16:3e:00:00:01") -> tuple[str, str]:
    source, request, _ = lab_task_request(cloud, mac=mac)
    return source, cloud.sms.create_task(replace(request, syncing=syncing))


def _sync_round(cloud: Cloud, task: str) -> tuple[int, int, int]:
    sub = next(s for s in cloud.sms.show_task(task).sub_tasks if s.name.startswith("SYNC_"))
    return sub.progress, sub.start_ms, sub.end_ms


def test_continuous_sync_goes_on_after_the_full_copy_in_rounds_until_the_cutover(cloud: Cloud,
                                                                                  lab: RunningLab) -> None:
    clock = Clock(lab)
    source, task = _task(cloud, syncing=True)
    cloud.sms.task_action(task, "start")
    assert cloud.sms.show_command(source).name == "START"
    cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 100, 12 << 30, 12 << 30))
    shown = cloud.sms.show_task(task)
    assert (shown.state, shown.source_state) == ("SYNCING", "syncing")          # not MIGRATE_SUCCESS: it goes on
    assert cloud.sms.show_command(source).name == ""                            # the next round waits its interval
    clock.tick()
    assert cloud.sms.show_command(source).name == "SYNC"                        # round 1
    first = _sync_round(cloud, task)
    assert first[0] == 0 and first[2] == 0
    cloud.sms.report_progress(task, Progress("SYNC_LINUX_FILE", 100, 12 << 30, 12 << 30))
    done = _sync_round(cloud, task)
    assert done[0] == 100 and done[1] == first[1] and done[2] > 0
    assert cloud.sms.show_task(task).state == "SYNCING"                         # no SYNC_SUCCESS in this mode
    clock.tick()
    assert cloud.sms.show_command(source).name == "SYNC"                        # round 2 started later
    assert _sync_round(cloud, task)[1] > first[1]
    cloud.sms.task_action(task, "cutover")                                      # launched while it syncs
    with pytest.raises(CloudConflictError):
        cloud.sms.task_action(task, "cutover")
    cloud.sms.report_progress(task, Progress("SYNC_LINUX_FILE", 100, 12 << 30, 12 << 30))   # round 2 ends
    assert cloud.sms.show_task(task).source_state == "cutovering"             # the launch goes on
    clock.tick(6)
    finished = cloud.sms.show_task(task)
    assert (finished.state, finished.source_state, finished.migration_cycle) == ("MIGRATE_SUCCESS", "finished",
                                                                                 "cutovered")
    clock.tick(60)
    assert cloud.sms.show_command(source).name == ""                            # the rounds ended with the launch


def test_a_task_without_continuous_sync_ends_each_phase(cloud: Cloud, lab: RunningLab) -> None:
    Clock(lab)
    source, task = _task(cloud, syncing=False)
    cloud.sms.task_action(task, "start")
    cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 100, 1, 1))
    assert cloud.sms.show_task(task).state == "MIGRATE_SUCCESS"
    cloud.sms.task_action(task, "restart")
    cloud.sms.report_progress(task, Progress("SYNC_LINUX_FILE", 100, 1, 1))
    assert cloud.sms.show_task(task).state == "SYNC_SUCCESS"


def test_delete_is_refused_only_for_a_copying_task_whose_agent_is_connected(cloud: Cloud, lab: RunningLab) -> None:
    clock = Clock(lab)
    source, task = _task(cloud, syncing=True)
    cloud.sms.task_action(task, "start")
    cloud.sms.show_command(source)                                   # the agent's poll: connected
    with pytest.raises(CloudConflictError) as info:
        cloud.sms.delete_task(task)
    assert (info.value.status, info.value.code) == (400, "SMS.2015")
    assert cloud.sms.show_task(task).state == "RUNNING"
    clock.tick(61)                                                   # no poll for longer than the agent timeout
    assert cloud.sms.show_task(task).connected is False
    cloud.sms.delete_task(task)                                      # the agent is gone: a plain DELETE is accepted
    assert cloud.sms.show_task(task).state == "DELETING"
    clock.tick(6)
    with pytest.raises(CloudNotFoundError):
        cloud.sms.show_task(task)


@pytest.mark.parametrize("state", ["READY", "ABORT", "MIGRATE_FAIL", "MIGRATE_SUCCESS", "error"])
def test_delete_is_accepted_for_ready_paused_failed_finished_and_error(cloud: Cloud, lab: RunningLab,
                                                                         state: str) -> None:
    clock = Clock(lab)
    source, task = _task(cloud, syncing=False)
    if state != "READY":
        cloud.sms.task_action(task, "start")
        cloud.sms.show_command(source)
    if state == "ABORT":
        cloud.sms.task_action(task, "stop")
        clock.tick(6)
    elif state == "MIGRATE_FAIL":
        cloud.sms.report_command_result(source, "START", ok=False, detail={"reason": "disk full"})
    elif state == "MIGRATE_SUCCESS":
        cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 100, 1, 1))
    elif state == "error":
        LabControl(lab.settings).fail_source(source, "now")
    shown = cloud.sms.show_task(task)
    assert state in (shown.state, shown.source_state)
    cloud.sms.delete_task(task)
    assert cloud.sms.show_task(task).state == "DELETING"


def test_fault_injection_reaches_error_at_cutover_and_clearfailed_at_clear(cloud: Cloud, lab: RunningLab) -> None:
    clock = Clock(lab)
    control = LabControl(lab.settings)
    source, task = _task(cloud, syncing=False)
    cloud.sms.task_action(task, "start")
    cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 100, 1, 1))
    control.fail_source(source, "cutover")
    cloud.sms.task_action(task, "cutover")
    clock.tick(6)
    shown = cloud.sms.show_task(task)
    assert (shown.source_state, shown.migration_cycle) == ("error", "cutovering")
    assert "failed to launch" in shown.error

    other, second = _task(cloud, syncing=False, mac="fa:16:3e:00:00:07")
    control.fail_source(other, "clear")
    cloud.sms.task_action(second, "clear")
    assert cloud.sms.show_task(second).source_state == "clearing"
    clock.tick(6)
    assert cloud.sms.show_task(second).source_state == "clearfailed"
    with pytest.raises(CloudError, match="at must be one of"):
        control.fail_source(other, "sometime")
