"""The lab's SMS: the agent protocol (register, commands, progress, consistency), the task and source state
machines with their asynchronous transitions (SMS API reference: ListTasks/ListServers states, UpdateTaskStatus
operations) and what create_task refuses."""

from __future__ import annotations

import dataclasses

import pytest

from mgc_iac.cloud import (
    Cloud,
    ConsistencyResult,
    LabControl,
    Progress,
    SourceFacts,
    TaskRequest,
    partitioned_disk,
)
from mgc_iac.errors import CloudConflictError, CloudError, CloudNotFoundError
from mgc_iac.lab.testing import RunningLab, lab_task, lab_task_request


class Clock:
    """The lab's clock, moved by the test (the asynchronous transitions finish when it says so)."""

    def __init__(self, lab: RunningLab) -> None:
        self.now = 1.8e9
        assert lab.server.lab is not None
        lab.server.lab.clock = lambda: self.now
        LabControl(lab.settings).update_settings(transition_seconds=5)

    def tick(self, seconds: float = 6) -> None:
        self.now += seconds


def test_agent_protocol_full_replication_then_sync_then_cutover(cloud: Cloud, lab: RunningLab) -> None:
    clock = Clock(lab)
    source, task, _ = lab_task(cloud)
    assert cloud.sms.show_command(source).name == ""                     # nothing to do yet
    cloud.sms.task_action(task, "start")
    assert cloud.sms.show_task(task).state == "RUNNING"
    command = cloud.sms.show_command(source)
    assert (command.name, command.task_id) == ("START", task)
    cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 40, 4 << 30, 12 << 30, 800.0))
    shown = cloud.sms.show_task(task)
    assert shown.state == "RUNNING" and shown.progress == 40 and shown.remain_seconds > 0
    assert shown.migration_cycle == "replicating"                          # source_server.migration_cycle
    assert cloud.sms.show_source(source).replicated_bytes == 4 << 30
    cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 100, 12 << 30, 12 << 30, 800.0))
    assert cloud.sms.show_task(task).state == "MIGRATE_SUCCESS"
    cloud.sms.task_action(task, "restart")                                 # incremental sync
    assert cloud.sms.show_task(task).state == "SYNCING"
    assert cloud.sms.show_command(source).name == "SYNC"
    cloud.sms.report_consistency_result(task, [ConsistencyResult("/data", 120, 1, 0, 0)])
    cloud.sms.report_progress(task, Progress("SYNC_LINUX_FILE", 100, 12 << 30, 12 << 30))
    assert cloud.sms.show_task(task).state == "SYNC_SUCCESS"
    result = cloud.sms.consistency_result(task)
    assert [(r.dir_check, r.total_files, r.different_files) for r in result] == [("/data", 120, 1)]
    assert not result[0].clean
    cloud.sms.task_action(task, "cutover")
    assert cloud.sms.show_task(task).migration_cycle == "cutovering"      # asynchronous: not yet launched
    assert cloud.sms.show_source(source).state == "cutovering"
    with pytest.raises(CloudConflictError) as info:
        cloud.sms.task_action(task, "cutover")                             # once
    assert (info.value.status, info.value.code) == (400, "SMS.1038")
    clock.tick()
    assert cloud.sms.show_task(task).migration_cycle == "cutovered"
    assert cloud.sms.show_source(source).state == "finished"
    with pytest.raises(CloudConflictError) as info:
        cloud.sms.task_action(task, "restart")
    assert info.value.code == "SMS.1040"


def test_stop_goes_aborting_then_abort_and_delete_goes_deleting(cloud: Cloud, lab: RunningLab) -> None:
    clock = Clock(lab)
    source, task, _ = lab_task(cloud)
    cloud.sms.task_action(task, "start")
    cloud.sms.show_command(source)                                          # the agent polls: connected
    with pytest.raises(CloudConflictError) as info:
        cloud.sms.delete_task(task)
    assert info.value.code == "SMS.2015"                  # in progress with its agent connected: not deletable
    cloud.sms.task_action(task, "stop")
    assert cloud.sms.show_task(task).state == "ABORTING"
    assert cloud.sms.show_source(source).state == "stopping"
    with pytest.raises(CloudConflictError):
        cloud.sms.delete_task(task)                                         # still pausing
    clock.tick()
    assert cloud.sms.show_task(task).state == "ABORT"
    assert cloud.sms.show_source(source).state == "stopped"
    with pytest.raises(CloudConflictError):
        cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 50))
    cloud.sms.delete_task(task)
    assert cloud.sms.show_task(task).state == "DELETING"
    assert cloud.sms.show_source(source).state == "deleting"
    clock.tick()
    with pytest.raises(CloudNotFoundError):
        cloud.sms.show_task(task)
    shown = cloud.sms.show_source(source)
    assert (shown.state, shown.current_task_id) == ("stopped", "")
    cloud.sms.delete_source(source)
    assert cloud.sms.list_sources() == []


def test_clear_goes_clearing_then_cleared(cloud: Cloud, lab: RunningLab) -> None:
    clock = Clock(lab)
    LabControl(lab.settings).update_settings(instant_transfers=True)
    source, task, _ = lab_task(cloud)
    cloud.sms.task_action(task, "start")
    cloud.sms.task_action(task, "clear")
    assert cloud.sms.show_source(source).state == "clearing"
    assert cloud.sms.show_command(source).name == "CLEAR"
    clock.tick()
    assert cloud.sms.show_source(source).state == "cleared"


def test_start_without_an_agent_waits_and_a_failed_command_fails_the_task(cloud: Cloud, lab: RunningLab) -> None:
    source, task, _ = lab_task(cloud)
    lab.server.lab.clock = lambda: 1e12                                     # long after the agent's last poll
    assert not cloud.sms.show_source(source).connected
    cloud.sms.task_action(task, "start")
    assert cloud.sms.show_task(task).state == "RUNNING"                   # waits for the agent
    assert cloud.sms.show_command(source).name == "START"
    assert cloud.sms.show_source(source).connected                        # the poll is its heartbeat
    cloud.sms.report_command_result(source, "START", ok=False, detail={"reason": "rsync missing"})
    failed = cloud.sms.show_task(task)
    assert failed.state == "MIGRATE_FAIL" and "rsync missing" in failed.error
    cloud.sms.task_action(task, "restart")                                  # a failed full runs again
    assert cloud.sms.show_task(task).state == "RUNNING"


def test_instant_transfers_need_no_agent(cloud: Cloud, lab: RunningLab) -> None:
    LabControl(lab.settings).update_settings(instant_transfers=True)
    source, task, _ = lab_task(cloud)
    cloud.sms.task_action(task, "start")
    done = cloud.sms.show_task(task)
    assert done.state == "MIGRATE_SUCCESS" and done.sub_tasks[0].progress == 100
    shown = cloud.sms.show_source(source)
    assert shown.replicated_bytes == shown.total_bytes == 12 << 30
    assert all(r.clean for r in cloud.sms.consistency_result(task))
    cloud.sms.task_action(task, "restart")
    assert cloud.sms.show_task(task).state == "SYNC_SUCCESS"


@pytest.mark.parametrize(("operation", "code"), [("stop", "SMS.1038"), ("skip", "SMS.1038"), ("cutover", "SMS.1038"),
                                                 ("restart", "SMS.1040"), ("test", "SMS.1038"),
                                                 ("clone_test", "SMS.1038")])
def test_wrong_transitions_from_ready_are_refused(cloud: Cloud, lab: RunningLab, operation: str, code: str) -> None:
    _, task, _ = lab_task(cloud)
    with pytest.raises(CloudConflictError) as info:
        cloud.sms.task_action(task, operation)  # type: ignore[arg-type]
    assert (info.value.status, info.value.code) == (400, code)
    assert cloud.sms.show_task(task).state == "READY"


def test_test_network_check_and_migration_test_answer_as_documented(cloud: Cloud, lab: RunningLab) -> None:
    _, task, _ = lab_task(cloud)
    cloud.sms.task_action(task, "network_check")                          # the agent is connected
    cloud.sms.task_action(task, "migration_test")                         # before the migration
    raw = cloud.sms.call("show_task", __import__("huaweicloudsdksms.v3", fromlist=["x"]).ShowTaskRequest(task_id=task))
    assert raw.need_migration_test and raw.network_check_info.evaluation_result == "success"
    LabControl(lab.settings).update_settings(instant_transfers=True)
    cloud.sms.task_action(task, "start")
    source = cloud.sms.show_task(task).source_id
    cloud.sms.task_action(task, "test")                                   # a replicated target can be tested
    assert cloud.sms.show_source(source).state == "stopped"              # the synchronization pauses
    assert cloud.sms.show_task(task).state == "MIGRATE_SUCCESS"
    cloud.sms.task_action(task, "restart")                                # and resumes
    assert cloud.sms.show_task(task).state == "SYNC_SUCCESS"
    assert cloud.sms.show_source(source).state == "syncing"


def test_clone_test_makes_a_server_of_its_own_while_the_sync_goes_on(cloud: Cloud, lab: RunningLab) -> None:
    """SDK UpdateTaskStatusReq `clone_test`, CloneServer.clone_state, source state `cloning` (ShowServerResponse):
    a clone is an ECS server of its own that ListServersDetails shows; the task stays in its sync cycle."""
    clock = Clock(lab)
    _, task, target = lab_task(cloud)
    with pytest.raises(CloudConflictError, match="replicated"):
        cloud.sms.task_action(task, "clone_test")                         # nothing to clone before the copy
    LabControl(lab.settings).update_settings(instant_transfers=True)
    cloud.sms.task_action(task, "start")
    cloud.sms.task_action(task, "restart")
    source = cloud.sms.show_task(task).source_id
    cloud.sms.task_action(task, "clone_test")
    shown = cloud.sms.show_task(task)
    assert shown.clone is not None and shown.clone.state == "CREATING"
    assert cloud.sms.show_source(source).state == "cloning"
    with pytest.raises(CloudConflictError, match="cloning"):              # DeleteTask's constraints: not while
        cloud.sms.delete_task(task)                                       # a connected source is cloning
    clone = cloud.ecs.find_servers(name=shown.clone.name)
    assert [s.id for s in clone] == [shown.clone.vm_id] and shown.clone.vm_id != target
    assert cloud.ecs.show_server(target).private_ips != clone[0].private_ips
    with pytest.raises(CloudConflictError, match="clone already"):
        cloud.sms.task_action(task, "clone_test")                         # one clone at a time
    clock.tick()
    done = cloud.sms.show_task(task)
    assert done.clone.state == "FINISHED" and done.state == "SYNC_SUCCESS"
    assert cloud.sms.show_source(source).state == "syncing"              # back in synchronization
    cloud.ecs.delete_server(done.clone.vm_id, wait=False)
    assert cloud.ecs.find_servers(name=done.clone.name) == []
    cloud.sms.task_action(task, "clone_test")                             # the old clone is gone: a new one
    assert cloud.sms.show_task(task).clone.vm_id != done.clone.vm_id


def test_a_sync_round_that_ends_while_a_clone_is_made_does_not_lose_the_clone(cloud: Cloud,
                                                                              lab: RunningLab) -> None:
    """Continuous synchronisation: a round the agent finishes after clone_test must not replace the clone's own
    transition (the clone stayed CREATING forever and TestLaunch waited without end): the clone is FINISHED after
    its transition time, the source back in sync, and the next round follows."""
    clock = Clock(lab)
    source, request, _ = lab_task_request(cloud)
    task = cloud.sms.create_task(dataclasses.replace(request, syncing=True))
    cloud.sms.task_action(task, "start")
    assert cloud.sms.show_command(source).name == "START"
    cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 100, 12 << 30, 12 << 30))
    assert cloud.sms.show_task(task).state == "SYNCING"                   # continuous: the rounds follow
    clock.tick(LabControl(lab.settings).settings()["sync_interval_seconds"] + 1)
    assert cloud.sms.show_command(source).name == "SYNC"                 # a round is running
    cloud.sms.task_action(task, "clone_test")
    assert cloud.sms.show_source(source).state == "cloning"
    cloud.sms.report_progress(task, Progress("SYNC_LINUX_FILE", 100, 12 << 30, 12 << 30))   # the round ends
    assert cloud.sms.show_source(source).state == "cloning"               # still making the clone
    clock.tick()
    done = cloud.sms.show_task(task)
    assert done.clone is not None and done.clone.state == "FINISHED" and done.state == "SYNCING"
    assert cloud.sms.show_source(source).state == "syncing"
    clock.tick(LabControl(lab.settings).settings()["sync_interval_seconds"] + 1)
    cloud.sms.show_task(task)                                             # a read begins the next round
    assert cloud.sms.show_command(source).name == "SYNC"


def test_create_task_refuses_what_the_api_refuses(cloud: Cloud, lab: RunningLab) -> None:
    """PostTask's required fields, name rule (SDK docstring: letters, digits, '_', '-'; 1-64), existing target,
    and target disks as init_target_server has them: physical volumes, sizes in bytes, the boot disk on the
    volume with bootIndex 0 (SMS.0515 where Huawei's disk check refuses)."""
    source, task, target = lab_task(cloud)
    gib = 1 << 30
    other = cloud.sms.register_source(SourceFacts(name="db-01", ip="192.168.1.11", os_type="LINUX",
                                                  macs=("fa:16:3e:00:00:02",),
                                                  disks=(partitioned_disk("/dev/vda", 40 * gib, 9 * gib, True),)))
    server = cloud.ecs.show_server(target)
    boot = next(v.id for v in server.volumes if v.boot)
    data = next(v.id for v in server.volumes if not v.boot)
    assert server.volume_ids[0] == data                   # the lab lists the data volume first (order undocumented)
    plan = cloud.sms.show_source(other).target_plan[0]
    disk = {"name": "/dev/vda", "size": 40 * gib, "used_size": 9 * gib, "device_use": "BOOT", "disk_id": boot,
            "physical_volumes": [dict(v) for v in plan.physical_volumes]}
    good = {"name": "db-01-task", "source_id": other, "target_server_id": target, "target_name": "db-01-hw",
            "os_type": "LINUX", "region": lab.endpoint.region, "project_id": lab.endpoint.project_id,
            "migration_ip": server.public_ips[0], "target_disks": (disk,)}
    cases = [({"target_disks": ()}, "SMS.2009", "disks is required"),
             ({"migration_ip": ""}, "SMS.2009", "migration_ip is required"),
             ({"target_server_id": "00000000-0000-0000-0000-000000000000"}, "SMS.2009", "not an existing server"),
             ({"name": "db-01.shop"}, "SMS.2009", "letters, digits"), ({"name": "a" * 65}, "SMS.2009", "1-64"),
             ({"name": "db 01"}, "SMS.2009", "letters, digits"),
             ({"target_disks": ({**disk, "disk_id": "nope"},)}, "SMS.2009", "not disks of server"),
             ({"target_disks": ({**disk, "physical_volumes": []},)}, "SMS.0515", "physical_volumes"),
             ({"target_disks": ({**disk, "size": 40},)}, "SMS.0515", "bytes"),        # 40 (GB) is not bytes
             ({"target_disks": ({**disk, "disk_id": data},)}, "SMS.0515", "bootIndex")]  # list order pairing
    for change, code, message in cases:
        with pytest.raises(CloudError, match=message) as info:
            cloud.sms.create_task(TaskRequest(**{**good, **change}))
        assert (info.value.status, info.value.code) == (400, code), change
    with pytest.raises(CloudError) as info:
        cloud.sms.create_task(TaskRequest(**{**good, "source_id": "no-such-source"}))
    assert info.value.code == "SMS.2216"
    with pytest.raises(CloudError, match="already has task"):
        cloud.sms.create_task(TaskRequest(**{**good, "source_id": source}))
    created = cloud.sms.create_task(TaskRequest(**{**good, "name": "x"}))        # one character is a name
    raw = cloud.sms.call("show_task", __import__("huaweicloudsdksms.v3", fromlist=["x"]).ShowTaskRequest(
        task_id=created))
    assert [v.name for v in raw.target_server.disks[0].physical_volumes] == ["/dev/vda1"]


def test_reregistering_the_same_machine_keeps_its_id_and_bad_bodies_are_400(cloud: Cloud, lab: RunningLab) -> None:
    facts = SourceFacts(name="db-01", ip="192.168.1.11", os_type="LINUX", macs=("fa:16:3e:00:00:02",))
    first = cloud.sms.register_source(facts)
    assert cloud.sms.register_source(facts) == first
    cloud.sms.update_source(first, name="db-01-renamed")
    listed = cloud.sms.list_sources(name="db-01-renamed")
    assert [s.name for s in listed] == ["db-01-renamed"] and listed[0].macs == ()   # list_servers has no networks
    assert cloud.sms.show_source(first).macs == ("fa:16:3e:00:00:02",)
    with pytest.raises(CloudError) as info:
        cloud.sms.register_source(SourceFacts(name="", ip="1.2.3.4", os_type="LINUX"))
    assert info.value.status == 400 and info.value.code == "SMS.2009"
    _, task, _ = lab_task(cloud, mac="fa:16:3e:00:00:09")
    with pytest.raises(CloudError) as info:
        cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 150))
    assert info.value.status == 400


def test_an_answer_outside_the_sdk_model_never_leaves_the_lab(cloud: Cloud, lab: RunningLab,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab's own handlers cannot produce a wrong answer on demand, so this test breaks one on purpose (a
    monkeypatched view adds the top-level migration_cycle the lab used to invent): the SDK-model check answers
    500 naming the field instead of sending it."""
    from mgc_iac.errors import CloudUnavailableError
    from mgc_iac.lab.services import sms_views

    _, task, _ = lab_task(cloud)
    real = sms_views.task_detail
    monkeypatch.setattr(sms_views, "task_detail", lambda lab_, t: {**real(lab_, t), "migration_cycle": "checking"})
    with pytest.raises(CloudUnavailableError, match="migration_cycle: not declared by ShowTaskResponse") as info:
        cloud.sms.show_task(task)
    assert info.value.status == 500
    monkeypatch.setattr(sms_views, "task_detail", lambda lab_, t: {**real(lab_, t), "remain_seconds": "600"})
    with pytest.raises(CloudUnavailableError, match="remain_seconds: str where the SDK declares int"):
        cloud.sms.show_task(task)
