"""The client's parsers proven on answers in the shapes Huawei documents, not only on the lab's answers.

Every SMS answer the client interprets (source, task, command, consistency result) is fed, as JSON, through the
SDK's own deserializer (the path a real answer takes) and then the client's parser. The shapes are field for
field the response parameter tables of the SMS API reference pages cited at each constant, and the Terraform
provider's documented attributes for the consistency result; values are placeholders of the documented types.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from mgc_iac.cloud import CloudSettings, SmsClient
from mgc_iac.cloud._sms import (
    command_from,
    consistency_from,
    source_from_detail,
    source_from_list_item,
    task_from_detail,
    task_from_list_item,
)
from mgc_iac.engine.runners.sms_task import VerificationFailedError, verify
from mgc_iac.lab.parity_allowlist import DOCUMENTED
from mgc_iac.lab.testing import RunningLab, lab_task, running_lab

GIB = 1024 ** 3
PROJECT = "0123456789abcdef0123456789abcdef"
TASK_ID = "6c6ad2bc-3c0f-4c2e-9e7b-3f0c1c9f4b21"
SOURCE_ID = "2c0689c8-60ad-4728-a497-c91ec0844383"
VM_ID = "8d5f2f3e-7f7b-4a54-9f0e-2b0e0c1e5a77"

# https://support.huaweicloud.com/intl/en-us/api-sms/ShowServer.html (Querying a Source Server, status 200:
# current_task is a TaskByServerSource object; networks[] and disks[] are listed here, not in ListServers)
SHOW_SERVER: dict[str, Any] = {
    "id": SOURCE_ID, "ip": "192.168.0.10", "name": "web-01", "hostname": "web-01", "enterprise_project_id": "0",
    "add_date": 1700000000000, "os_type": "LINUX", "os_version": "UBUNTU_22_04_64BIT", "oem_system": False,
    "state": "replicate", "connected": True, "firmware": "BIOS", "cpu_quantity": 2, "memory": 4 * GIB,
    "current_task": {"id": TASK_ID, "name": "web-01-task", "type": "MIGRATE_FILE", "state": "RUNNING",
                     "start_date": 1700000100000, "speed_limit": 0, "migrate_speed": 95.5,
                     "start_target_server": True, "vm_template_id": "", "region_id": "cn-north-4",
                     "project_name": "cn-north-4", "project_id": PROJECT,
                     "target_server": {"vm_id": VM_ID, "name": "web-01-hw"}, "log_collect_status": "INIT",
                     "exist_server": True, "use_public_ip": True},
    "disks": [{"name": "/dev/vda", "partition_style": "MBR", "device_use": "BOOT", "size": 40 * GIB,
               "used_size": 12 * GIB, "physical_volumes": [], "os_disk": True, "relation_name": "",
               "inode_size": 256},
              {"name": "/dev/vdb", "partition_style": "GPT", "device_use": "NORMAL", "size": 100 * GIB,
               "used_size": 30 * GIB, "physical_volumes": [], "os_disk": False, "relation_name": "",
               "inode_size": 256}],
    "volume_groups": [], "btrfs_list": [],
    "networks": [{"name": "eth0", "ip": "192.168.0.10", "ipv6": "", "netmask": "255.255.255.0",
                  "gateway": "192.168.0.1", "mtu": 1500, "mac": "fa:16:3e:12:34:56", "id": ""},
                 {"name": "eth1", "ip": "10.0.0.10", "ipv6": "", "netmask": "255.255.255.0", "gateway": "10.0.0.1",
                  "mtu": 1500, "mac": "fa:16:3e:12:34:57", "id": ""}],
    "checks": [{"id": 1, "params": [], "name": "OS_VERSION", "result": "OK", "error_code": "", "error_or_warn": "",
                "error_params": ""}],
    "migration_cycle": "replicating", "state_action_time": 1700000100000, "replicatesize": 5 * GIB,
    "totalsize": 42 * GIB, "last_visit_time": 1700000200000, "stage_action_time": 1700000100000,
    "agent_version": "25.3.0", "has_tc": False, "start_type": "MANUAL",
}

# https://support.huaweicloud.com/intl/en-us/api-sms/ListServers.html (Listing Source Servers: source_servers[]
# are SourceServersResponseBody: no networks, no disks; current_task a TaskByServerSources object)
LIST_SERVERS: dict[str, Any] = {"count": 1, "source_servers": [{
    "id": SOURCE_ID, "ip": "192.168.0.10", "name": "web-01", "enterprise_project_id": "0", "add_date": 1700000000000,
    "os_type": "LINUX", "os_version": "UBUNTU_22_04_64BIT", "oem_system": False, "state": "replicate",
    "connected": True, "cpu_quantity": 2, "memory": 4 * GIB,
    "current_task": {"id": TASK_ID, "name": "web-01-task", "type": "MIGRATE_FILE", "state": "RUNNING",
                     "estimate_complete_time": 1700003700000, "start_date": 1700000100000, "speed_limit": 0,
                     "migrate_speed": 95.5, "compress_rate": 1.0, "start_target_server": True, "vm_template_id": "",
                     "region_id": "cn-north-4", "project_name": "cn-north-4", "project_id": PROJECT,
                     "target_server": {"vm_id": VM_ID, "name": "web-01-hw"}, "log_collect_status": "INIT",
                     "exist_server": True, "use_public_ip": True, "remain_seconds": 600},
    "checks": [], "replicatesize": 5 * GIB, "stage_action_time": 1700000100000, "totalsize": 42 * GIB,
    "last_visit_time": 1700000200000, "migration_cycle": "replicating", "state_action_time": 1700000100000,
    "is_consistency_result_exist": False, "has_tc": False, "start_type": "MANUAL"}]}

# https://support.huaweicloud.com/intl/en-us/api-sms/ShowTask.html (Querying a Migration Task with a Specified ID:
# no top-level migration_cycle/replicatesize/totalsize; the cycle is source_server.migration_cycle; progress in
# sub_tasks[], remain_seconds, migrate_speed, total_time)
SHOW_TASK: dict[str, Any] = {
    "name": "web-01-task", "type": "MIGRATE_FILE", "os_type": "LINUX", "id": TASK_ID, "priority": 1,
    "speed_limit": 0, "region_id": "cn-north-4", "start_target_server": True, "enterprise_project_id": "0",
    "migration_ip": "100.85.0.10", "region_name": "cn-north-4", "project_name": "cn-north-4",
    "project_id": PROJECT, "vm_template_id": "",
    "source_server": {"id": SOURCE_ID, "ip": "192.168.0.10", "name": "web-01", "os_type": "LINUX",
                      "os_version": "UBUNTU_22_04_64BIT", "oem_system": False, "state": "replicate",
                      "migration_cycle": "replicating"},
    "target_server": {"id": "t-1", "vm_id": VM_ID, "name": "web-01-hw", "ip": "100.85.0.10", "os_type": "LINUX",
                      "os_version": "UBUNTU_22_04_64BIT", "system_dir": "/", "disks": [
                          {"id": 1, "device_use": "BOOT", "disk_id": "vol-1", "name": "/dev/vda", "size": 40 * GIB,
                           "used_size": 12 * GIB}], "volume_groups": [], "btrfs_list": [], "image_disk_id": "",
                      "cutovered_snapshot_ids": ""},
    "state": "RUNNING", "estimate_complete_time": 1700003700000, "connected": True, "create_date": 1700000000000,
    "start_date": 1700000100000, "finish_date": 0, "migrate_speed": 95.5, "compress_rate": 1.0, "error_json": "",
    "total_time": 1800000, "float_ip": "", "remain_seconds": 600, "target_snapshot_id": "",
    "sub_tasks": [{"id": 1, "name": "CREATE_CLOUD_SERVER", "progress": 100, "start_date": 1700000100000,
                   "end_date": 1700000160000, "migrate_speed": 0.0, "user_op": "", "process_trace": ""},
                  {"id": 2, "name": "MIGRATE_LINUX_FILE", "progress": 45, "start_date": 1700000160000,
                   "end_date": 0, "migrate_speed": 95.5, "user_op": "", "process_trace": ""}],
    "total_cpu_usage": 10.0, "agent_cpu_usage": 2.0, "total_mem_usage": 30.0, "agent_mem_usage": 1.0,
    "total_disk_io": 5.0, "agent_disk_io": 1.0, "need_migration_test": False, "subtask_info": "",
}

# https://support.huaweicloud.com/intl/en-us/api-sms/ListTasks.html (Listing Migration Tasks: TasksResponseBody)
LIST_TASKS: dict[str, Any] = {"count": 1, "tasks": [{
    "id": TASK_ID, "name": "web-01-task", "type": "MIGRATE_FILE", "os_type": "LINUX", "state": "SYNC_SUCCESS",
    "estimate_complete_time": 0, "create_date": 1700000000000, "priority": 1, "speed_limit": 0,
    "migrate_speed": 0.0, "compress_rate": 1.0, "start_target_server": True, "error_json": "", "total_time": 3600000,
    "migration_ip": "100.85.0.10",
    "sub_tasks": [{"id": 2, "name": "SYNC_LINUX_FILE", "progress": 100, "start_date": 1700003000000,
                   "end_date": 1700003600000, "process_trace": ""}],
    "source_server": {"id": SOURCE_ID, "ip": "192.168.0.10", "name": "web-01", "os_type": "LINUX",
                      "os_version": "UBUNTU_22_04_64BIT", "oem_system": False, "state": "syncing"},
    "enterprise_project_id": "0",
    "target_server": {"id": "t-1", "vm_id": VM_ID, "name": "web-01-hw", "ip": "100.85.0.10", "os_type": "LINUX",
                      "os_version": "UBUNTU_22_04_64BIT"},
    "log_collect_status": "INIT", "syncing": True, "special_config": [], "need_migration_test": False}]}

# https://support.huaweicloud.com/eu/api-sms/ShowCommand.html (Obtaining Commands from SMS: command_name START,
# STOP, SKIP, ...; command_param a CommandParam object {task_id, bucket})
SHOW_COMMAND: dict[str, Any] = {"command_name": "START", "command_param": {"task_id": TASK_ID, "bucket": ""}}

# Terraform provider data source huaweicloud_sms_task_consistency_results
# (docs/data-sources/sms_task_consistency_results.md; huaweicloud/services/sms/
# data_source_huaweicloud_sms_task_consistency_results.go): result_list[{finished_time (int), check_result,
# consistency_result[{dir_check, num_total_files, num_different_files, num_target_miss_files,
# num_target_more_files}]}]. An earlier clean run, then the latest: 1 different, 1 missing, 1 extra file.
CONSISTENCY_RESULT: dict[str, Any] = {"task_id": TASK_ID, "result_list": [
    {"finished_time": 1700000000000, "check_result": "success", "consistency_result": [
        {"dir_check": "/data", "num_total_files": 1200, "num_different_files": 0, "num_target_miss_files": 0,
         "num_target_more_files": 0}]},
    {"finished_time": 1700003600000, "check_result": "success", "consistency_result": [
        {"dir_check": "/data", "num_total_files": 1200, "num_different_files": 1, "num_target_miss_files": 1,
         "num_target_more_files": 1},
        {"dir_check": "/srv/app", "num_total_files": 300, "num_different_files": 0, "num_target_miss_files": 0,
         "num_target_more_files": 0}]}]}

ANSWERS = {"sms.show_server": ("ShowServerResponse", SHOW_SERVER),
           "sms.list_servers": ("ListServersResponse", LIST_SERVERS),
           "sms.show_task": ("ShowTaskResponse", SHOW_TASK), "sms.list_tasks": ("ListTasksResponse", LIST_TASKS),
           "sms.show_command": ("ShowCommandResponse", SHOW_COMMAND),
           "sms.show_consistency_result": ("ShowConsistencyResultResponse", CONSISTENCY_RESULT)}


@pytest.fixture(scope="module")
def sdk() -> Any:
    """The SDK's SMS client (never connected: only its deserializer is used)."""
    settings = CloudSettings(region="cn-north-4", project_id=PROJECT, ak="AK", sk="SK",
                             endpoints={"sms": "http://127.0.0.1:9"})
    return SmsClient(settings).sdk


def answer(sdk: Any, response_type: str, body: dict[str, Any]) -> Any:
    """`body` read the way the SDK reads an HTTP 200 answer (sync_response_handler)."""
    response = requests.models.Response()
    response.status_code = 200
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return sdk.sync_response_handler(response, response_type, [], None)


def test_every_documented_operation_has_its_answer_here() -> None:
    assert set(DOCUMENTED) == set(ANSWERS)


def test_show_server_reads_the_object_current_task_the_macs_and_the_disks(sdk: Any) -> None:
    source = source_from_detail(answer(sdk, *ANSWERS["sms.show_server"]))
    assert source.current_task_id == TASK_ID                       # an object, not a string
    assert source.macs == ("fa:16:3e:12:34:56", "fa:16:3e:12:34:57")
    assert [(d.name, d.size_bytes, d.used_bytes, d.device_use) for d in source.disks] == [
        ("/dev/vda", 40 * GIB, 12 * GIB, "BOOT"), ("/dev/vdb", 100 * GIB, 30 * GIB, "NORMAL")]
    assert (source.migration_cycle, source.replicated_bytes, source.total_bytes) == ("replicating", 5 * GIB, 42 * GIB)
    assert (source.state, source.connected, source.memory_bytes) == ("replicate", True, 4 * GIB)


def test_list_servers_items_have_no_networks_so_the_macs_come_from_show_server(sdk: Any) -> None:
    listed = answer(sdk, *ANSWERS["sms.list_servers"])
    source = source_from_list_item(listed.source_servers[0])
    assert (source.id, source.name, source.current_task_id, source.macs) == (SOURCE_ID, "web-01", TASK_ID, ())


def test_show_task_reads_the_cycle_from_its_source_and_progress_from_sub_tasks(sdk: Any) -> None:
    task = task_from_detail(answer(sdk, *ANSWERS["sms.show_task"]))
    assert (task.state, task.migration_cycle, task.source_id, task.target_server_id) == (
        "RUNNING", "replicating", SOURCE_ID, VM_ID)
    assert (task.progress, task.remain_seconds, task.migrate_speed_mbps, task.total_time) == (45, 600, 95.5, 1800000)
    assert task.connected and [s.name for s in task.sub_tasks] == ["CREATE_CLOUD_SERVER", "MIGRATE_LINUX_FILE"]


def test_list_tasks_items(sdk: Any) -> None:
    task = task_from_list_item(answer(sdk, *ANSWERS["sms.list_tasks"]).tasks[0])
    assert (task.id, task.state, task.source_id, task.target_server_id, task.progress) == (
        TASK_ID, "SYNC_SUCCESS", SOURCE_ID, VM_ID, 100)


def test_show_command(sdk: Any) -> None:
    command = command_from(answer(sdk, *ANSWERS["sms.show_command"]))
    assert (command.name, command.task_id) == ("START", TASK_ID)


def test_a_consistency_result_with_a_different_a_missing_and_an_extra_file_is_not_clean(sdk: Any) -> None:
    results = consistency_from(sdk, answer(sdk, *ANSWERS["sms.show_consistency_result"]))
    data = next(r for r in results if r.dir_check == "/data")     # the latest run, not the earlier clean one
    assert (data.total_files, data.different_files, data.target_missing_files, data.target_extra_files) == (
        1200, 1, 1, 1)
    assert not data.clean and not all(r.clean for r in results)
    assert next(r for r in results if r.dir_check == "/srv/app").clean


def test_a_count_the_answer_lacks_never_reads_as_clean(sdk: Any) -> None:
    body = {"task_id": TASK_ID, "result_list": [{"finished_time": 1, "check_result": "success",
                                                 "consistency_result": [{"dir_check": "/data"}]}]}
    [row] = consistency_from(sdk, answer(sdk, "ShowConsistencyResultResponse", body))
    assert not row.clean


def test_the_flat_shape_the_lab_used_to_answer_is_refused_not_read_as_zeros(sdk: Any) -> None:
    flat = {"task_id": TASK_ID, "result_list": [{"dir_check": "/data", "num_total_files": 10,
                                                 "num_different_files": 3}]}
    assert consistency_from(sdk, answer(sdk, "ShowConsistencyResultResponse", flat)) == []  # no run, no verdict


def test_verification_reports_the_documented_dirty_answer_as_not_clean(tmp_path: Path) -> None:
    """The documented answer served by the lab (through its SDK-model check) to the engine's VerifyConsistency."""
    from mgc_iac.cloud import Cloud

    with running_lab(tmp_path / "lab") as lab:
        _, task_id, _ = lab_task(Cloud(lab.settings))
        _serve(lab, task_id, CONSISTENCY_RESULT["result_list"])
        config = {"provider": "lab", "region": lab.endpoint.region, "lab_dir": str(tmp_path / "lab"),
                  "url": lab.endpoint.url}
        with pytest.raises(VerificationFailedError) as info:
            verify(config, task_id)
        rows = info.value.step_detail["verification"]["results"]
        assert info.value.step_detail["verification"]["clean"] is False
        assert {"dir": "/data", "total": 1200, "different": 1, "missing": 1, "extra": 1} in rows
        assert "1 different, 1 missing, 1 extra" in str(info.value)


def _serve(lab: RunningLab, task_id: str, result_list: list[dict[str, Any]]) -> None:
    task = lab.store.get("sms_task", task_id)
    task["result_list"] = result_list
    lab.store.put("sms_task", task)
