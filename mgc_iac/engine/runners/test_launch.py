"""TestLaunch and TestCleanup on the cloud: SMS's two ways to try a migrated server before Cutover.

SMS UpdateTaskStatus (POST /v3/tasks/{task_id}/action; SDK UpdateTaskStatusReq.operation: "test:测试",
"clone_test:克隆测试", with `template_id` for the clone's server template):

    clone   clone_test: SMS snapshots the target's disks and makes a clone of the target, an ECS server of its
            own (ListServersDetails shows it); the source waits in state `cloning` (SDK ShowServerResponse.state:
            "cloning：等待克隆完成") and the task goes back to continuous synchronization once the clone is made
            (SMS FAQ "What Are the Snapshots of a Target Server Used for?": clone snapshots "put the migration
            status back to continuous synchronization after the clone is complete"). ShowTask's clone_server
            (SDK CloneServer: vm_id, name, clone_state NOT_READY|READY|PREPARING|CREATING|ERROR|FINISHED) names
            it. TestCleanup deletes that server (ECS DeleteServers with its volumes), as the SMS user guide's
            "(Optional) Deleting a Server Clone" does.
    target  test: the target itself is launched for a test and the synchronization pauses (the source is
            `stopped`); TestCleanup resumes it (restart: SYNCING, then the sync's end), which brings the target
            back in line with the source before BusinessValidation.

Every function is idempotent (the engine runs a step found RUNNING again): a clone that exists is adopted, a
target already under test is not tested twice, a clone already deleted is not looked for again.
"""

from __future__ import annotations

import threading
from typing import Any

from mgc_iac.errors import CloudError, CloudNotFoundError

CLONE_DONE, CLONE_FAILED = "FINISHED", "ERROR"
TIMEOUT_SECONDS = 3600.0
POLL_SECONDS = 0.5


def _exists(cloud: Any, server_id: str) -> bool:
    try:
        cloud.ecs.show_server(server_id)
    except CloudNotFoundError:
        return False
    return True


def _instance(server: Any, mode: str) -> dict[str, Any]:
    return {"id": server.id, "name": server.name, "status": server.status,
            "private_ip": server.private_ips[0] if server.private_ips else None,
            "public_ip": server.public_ips[0] if server.public_ips else None, "mode": mode}


def _active(cloud: Any, server_id: str, cancel: threading.Event, what: str) -> Any:
    from mgc_iac.cloud import WaitPolicy, wait_until

    def reached(server: Any) -> bool:
        if server.status == "ERROR":
            raise CloudError(f"{what} {server_id} is in ERROR", service="ecs", operation="show_server")
        return bool(server.status == "ACTIVE")

    return wait_until(lambda: cloud.ecs.show_server(server_id), reached, WaitPolicy(TIMEOUT_SECONDS, POLL_SECONDS),
                      what=f"{what} {server_id}", cancel=cancel, service="ecs")


def launch_clone(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event,
                 template_id: str | None = None) -> dict[str, Any]:
    """clone_test, then wait until the clone is FINISHED and its server ACTIVE: {test_instance, sms_operation}."""
    from mgc_iac.cloud import WaitPolicy, cloud_for, wait_until

    cloud = cloud_for(cloud_config)
    task = cloud.sms.show_task(task_id)
    if task.clone is not None and task.clone.state == CLONE_FAILED and _exists(cloud, task.clone.vm_id):
        cloud.ecs.delete_server(task.clone.vm_id, delete_volumes=True, wait=True)  # a failed clone is not kept
    if task.clone is None or (task.clone.state == CLONE_DONE and not _exists(cloud, task.clone.vm_id)) \
            or task.clone.state == CLONE_FAILED:
        cloud.sms.task_action(task_id, "clone_test", template_id=template_id)

    def made(t: Any) -> bool:
        if t.clone is not None and t.clone.state == CLONE_FAILED:
            raise CloudError(f"task {task_id}: the clone failed: {t.clone.error or 'no detail'} (retry the step)",
                             service="sms", operation="show_task")
        return t.clone is not None and t.clone.state == CLONE_DONE and _exists(cloud, t.clone.vm_id)

    task = wait_until(lambda: cloud.sms.show_task(task_id), made, WaitPolicy(TIMEOUT_SECONDS, POLL_SECONDS),
                      what=f"the clone of task {task_id}", cancel=cancel, service="sms")
    server = _active(cloud, task.clone.vm_id, cancel, "clone")
    return {"sms_operation": "clone_test", "test_instance": _instance(server, "clone")}


def delete_clone(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event) -> dict[str, Any]:
    """Delete the clone's server and its volumes; wait until ECS no longer knows it."""
    from mgc_iac.cloud import WaitPolicy, cloud_for, wait_until

    cloud = cloud_for(cloud_config)
    clone = cloud.sms.show_task(task_id).clone
    if clone is None:
        return {"note": "the task names no clone: nothing to delete"}
    if _exists(cloud, clone.vm_id):
        cloud.ecs.delete_server(clone.vm_id, delete_volumes=True, wait=True)
    wait_until(lambda: _exists(cloud, clone.vm_id), lambda present: not present,
               WaitPolicy(TIMEOUT_SECONDS, POLL_SECONDS), what=f"deletion of clone {clone.vm_id}", cancel=cancel,
               service="ecs")
    return {"deleted": {"id": clone.vm_id, "name": clone.name}}


def launch_target(cloud_config: dict[str, Any], task_id: str, target_id: str,
                  cancel: threading.Event) -> dict[str, Any]:
    """test: the target is launched for a test and the synchronization pauses (source `stopped`)."""
    from mgc_iac.cloud import cloud_for

    cloud = cloud_for(cloud_config)
    task = cloud.sms.show_task(task_id)
    if cloud.sms.show_source(task.source_id).state != "stopped":
        cloud.sms.task_action(task_id, "test")
    server = _active(cloud, target_id, cancel, "target")
    return {"sms_operation": "test", "test_instance": _instance(server, "target"),
            "source_state": cloud.sms.show_source(task.source_id).state}
