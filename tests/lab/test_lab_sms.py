"""The lab's SMS: the agent protocol (register, commands, progress, consistency) and the task state machine."""

from __future__ import annotations

import pytest

from mgc_iac.cloud import (
    Cloud,
    ConsistencyResult,
    LabControl,
    Progress,
    ServerRequest,
    SourceFacts,
    TaskRequest,
    VolumeRequest,
)
from mgc_iac.errors import CloudConflictError, CloudError, CloudNotFoundError
from mgc_iac.lab.testing import RunningLab


def _target(cloud: Cloud, lab: RunningLab, name: str = "web-01-hw") -> str:
    vpc = cloud.vpc.find_vpc("vpc-shop")
    image = lab.store.list("image")[0]["id"]
    return cloud.ecs.create_server(ServerRequest(
        name=name, image_id=image, flavor="s6.large.2", vpc_id=vpc.id,
        subnet_id=cloud.vpc.find_subnet("subnet-shop", vpc.id).id, root_volume=VolumeRequest(40)), f"tok-{name}")


def _task(cloud: Cloud, lab: RunningLab, mac: str = "fa:16:3e:00:00:01") -> tuple[str, str]:
    source = cloud.sms.register_source(SourceFacts(name="web-01", ip="192.168.1.10", os_type="LINUX", macs=(mac,),
                                                   disks=({"name": "/dev/vda", "size": 40 << 30,
                                                           "used_size": 12 << 30},)))
    task = cloud.sms.create_task(TaskRequest(name="web-01", source_id=source, target_server_id=_target(cloud, lab),
                                             target_name="web-01-hw", os_type="LINUX", region=lab.endpoint.region,
                                             project_id=lab.endpoint.project_id))
    return source, task


def test_agent_protocol_full_replication_then_sync_then_cutover(cloud: Cloud, lab: RunningLab) -> None:
    source, task = _task(cloud, lab)
    assert cloud.sms.show_command(source).name == ""                     # nothing to do yet
    cloud.sms.task_action(task, "start")
    assert cloud.sms.show_task(task).state == "RUNNING"
    command = cloud.sms.show_command(source)
    assert (command.name, command.task_id) == ("START", task)
    cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 40, 4 << 30, 12 << 30, 800.0))
    shown = cloud.sms.show_task(task)
    assert shown.state == "RUNNING" and shown.sub_tasks[0].progress == 40 and shown.remain_seconds > 0
    cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 100, 12 << 30, 12 << 30, 800.0))
    assert cloud.sms.show_task(task).state == "MIGRATE_SUCCESS"
    cloud.sms.task_action(task, "restart")                                 # incremental sync
    assert cloud.sms.show_task(task).state == "SYNCING"
    assert cloud.sms.show_command(source).name == "SYNC"
    cloud.sms.report_progress(task, Progress("SYNC_LINUX_FILE", 100, 12 << 30, 12 << 30))
    assert cloud.sms.show_task(task).state == "SYNC_SUCCESS"
    cloud.sms.report_consistency_result(task, [ConsistencyResult("/data", 120, 1, 0, 0)])
    result = cloud.sms.consistency_result(task)
    assert result == [ConsistencyResult("/data", 120, 1, 0, 0)] and not result[0].clean
    cloud.sms.task_action(task, "cutover")
    assert cloud.sms.show_task(task).migration_cycle == "cutovered"
    assert cloud.sms.show_source(source).state == "finished"
    with pytest.raises(CloudConflictError) as info:
        cloud.sms.task_action(task, "cutover")
    assert info.value.status == 409 and info.value.code == "SMS.9002"


def test_start_without_an_agent_waits_and_a_failed_command_fails_the_task(cloud: Cloud, lab: RunningLab) -> None:
    source, task = _task(cloud, lab)
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
    _, task = _task(cloud, lab)
    cloud.sms.task_action(task, "start")
    done = cloud.sms.show_task(task)
    assert done.state == "MIGRATE_SUCCESS" and done.sub_tasks[0].progress == 100
    assert done.replicated_bytes == done.total_bytes == 12 << 30
    assert all(r.clean for r in cloud.sms.consistency_result(task))
    cloud.sms.task_action(task, "restart")
    assert cloud.sms.show_task(task).state == "SYNC_SUCCESS"


@pytest.mark.parametrize("operation", ["stop", "skip", "cutover"])
def test_wrong_transitions_from_ready_are_409(cloud: Cloud, lab: RunningLab, operation: str) -> None:
    _, task = _task(cloud, lab)
    with pytest.raises(CloudConflictError, match=f"operation {operation} is not allowed"):
        cloud.sms.task_action(task, operation)  # type: ignore[arg-type]
    assert cloud.sms.show_task(task).state == "READY"


def test_running_task_cannot_be_deleted_and_stopped_one_can(cloud: Cloud, lab: RunningLab) -> None:
    source, task = _task(cloud, lab)
    cloud.sms.task_action(task, "start")
    with pytest.raises(CloudConflictError):
        cloud.sms.delete_task(task)
    with pytest.raises(CloudConflictError):
        cloud.sms.delete_source(source)
    with pytest.raises(CloudConflictError, match="already has task"):
        cloud.sms.create_task(TaskRequest(name="again", source_id=source, target_server_id="x", target_name="x",
                                          os_type="LINUX", region="cn-north-4", project_id="p"))
    cloud.sms.task_action(task, "stop")
    assert cloud.sms.show_task(task).state == "ABORT"
    with pytest.raises(CloudConflictError):
        cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 50))
    cloud.sms.delete_task(task)
    with pytest.raises(CloudNotFoundError):
        cloud.sms.show_task(task)
    cloud.sms.delete_source(source)
    assert cloud.sms.list_sources() == []


def test_reregistering_the_same_machine_keeps_its_id_and_bad_bodies_are_400(cloud: Cloud, lab: RunningLab) -> None:
    facts = SourceFacts(name="db-01", ip="192.168.1.11", os_type="LINUX", macs=("fa:16:3e:00:00:02",))
    first = cloud.sms.register_source(facts)
    assert cloud.sms.register_source(facts) == first
    cloud.sms.update_source(first, name="db-01-renamed")
    assert [s.name for s in cloud.sms.list_sources(name="db-01-renamed")] == ["db-01-renamed"]
    with pytest.raises(CloudError) as info:
        cloud.sms.register_source(SourceFacts(name="", ip="1.2.3.4", os_type="LINUX"))
    assert info.value.status == 400 and info.value.code == "SMS.6101"
    _, task = _task(cloud, lab, mac="fa:16:3e:00:00:09")
    with pytest.raises(CloudError) as info:
        cloud.sms.report_progress(task, Progress("MIGRATE_LINUX_FILE", 150))
    assert info.value.status == 400
