"""SMS v3: source servers (registered by agents), migration tasks, their actions, progress and results.

Every answer is read through the SDK 3.1.219 response model (huaweicloudsdksms.v3.model) and every body is
built from its request model; the one SDK gap (consistency results) is read in mgc_iac.cloud._sdk_gaps.
SMS is a global service: its endpoint is one of the SDK's SmsRegion entries (CloudSettings.endpoint("sms")),
and the target region travels in the task (region_name / region_id / project_id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.cloud._sdk_gaps import consistency_result_list
from mgc_iac.cloud._types import (
    CloneServer,
    Command,
    ConsistencyResult,
    Progress,
    SourceDisk,
    SourceFacts,
    SourceServer,
    SpeedLimit,
    SubTask,
    TargetDiskPlan,
    Task,
    TaskRequest,
)
from mgc_iac.errors import CloudError

# the operations of POST /v3/tasks/{id}/action (UpdateTaskStatusReq.operation, SMS API reference "Managing a
# Migration Task": start, stop, restart, test, cutover, clone_test, network_check, skip, clear, migration_test)
# the largest page of ListTasks / ListServers (ListServersRequest.limit: "0 means the default 200"; ListTasks'
# limit up to 200 per huawei-behaviour.md); the lab refuses more
PAGE_LIMIT = 200

TaskOperation = Literal["start", "stop", "restart", "cutover", "clear", "skip", "test", "clone_test",
                        "network_check", "migration_test"]


def _int(value: Any) -> int:
    return int(value or 0)


def _summary(s: Any) -> dict[str, Any]:
    """Fields both ShowServerResponse and SourceServersResponseBody declare."""
    current = s.current_task          # TaskByServerSource / TaskByServerSources: an object, not a string
    return {"id": s.id, "name": s.name or "", "ip": s.ip or "", "os_type": s.os_type or "", "state": s.state or "",
            "connected": bool(s.connected), "cpu_quantity": _int(s.cpu_quantity), "memory_bytes": _int(s.memory),
            "migration_cycle": s.migration_cycle or "", "current_task_id": (current.id or "") if current else "",
            "replicated_bytes": _int(s.replicatesize), "total_bytes": _int(s.totalsize)}


def source_from_list_item(s: Any) -> SourceServer:
    """A SourceServersResponseBody (list_servers): no networks, no disks."""
    return SourceServer(**_summary(s))


def _plain(model: Any) -> dict[str, Any]:
    """An SDK model as the JSON object SMS sent (None fields left out)."""
    return {k: v for k, v in model.to_dict().items() if v is not None}


def source_from_detail(s: Any) -> SourceServer:
    """A ShowServerResponse (show_server): networks (the MACs), disks, and SMS's recommended target
    (init_target_server: disks with their physical volumes, volume groups) with the btrfs list."""
    plan = s.init_target_server
    return SourceServer(**_summary(s), macs=tuple(n.mac for n in s.networks or [] if n.mac),
                        disks=tuple(SourceDisk(d.name or "", _int(d.size), _int(d.used_size), d.device_use or "")
                                    for d in s.disks or []),
                        target_plan=tuple(TargetDiskPlan(d.name or "", _int(d.size), _int(d.used_size),
                                                         d.device_use or "",
                                                         tuple(_plain(v) for v in d.physical_volumes or []))
                                          for d in (plan.disks if plan else None) or []),
                        volume_groups=tuple(_plain(v) for v in (plan.volume_groups if plan else None) or []),
                        btrfs_list=tuple(_plain(b) for b in s.btrfs_list or []))


def _sub_tasks(items: Any, with_speed: bool = True) -> tuple[SubTask, ...]:
    """SubTask (show_task) has migrate_speed; SubTaskAssociatedWithTask (list_tasks) does not. Both carry
    start_date and end_date (ms; end_date empty while the sub-task runs): sms_states.converged reads them."""
    return tuple(SubTask(t.name or "", _int(t.progress), float(t.migrate_speed or 0) if with_speed else 0.0,
                         _int(t.start_date), _int(t.end_date))
                 for t in items or [])


def task_from_detail(t: Any) -> Task:
    """A ShowTaskResponse: the cycle is source_server.migration_cycle; progress is in sub_tasks,
    remain_seconds, migrate_speed (Mbit/s) and total_time."""
    source = t.source_server
    return Task(id=t.id, name=t.name or "", state=t.state or "", source_id=(source.id or "") if source else "",
                target_server_id=(t.target_server.vm_id or "") if t.target_server else "",
                migration_cycle=(source.migration_cycle or "") if source else "", sub_tasks=_sub_tasks(t.sub_tasks),
                source_state=(source.state or "") if source else "",
                migrate_speed_mbps=float(t.migrate_speed or 0), remain_seconds=_int(t.remain_seconds),
                connected=bool(t.connected), error=t.error_json or "", total_time=_int(t.total_time),
                clone=_clone(t.clone_server))


def _clone(c: Any) -> CloneServer | None:
    """ShowTask's CloneServer, or ListTasks' CloneServerBrief (vm_id and name only)."""
    if c is None or not c.vm_id:
        return None
    return CloneServer(vm_id=c.vm_id, name=c.name or "", state=getattr(c, "clone_state", None) or "",
                       error=getattr(c, "clone_error", None) or getattr(c, "error_msg", None) or "")


def task_from_list_item(t: Any) -> Task:
    """A TasksResponseBody (list_tasks): no connected flag, no cycle, no remain_seconds; its clone_server is a
    CloneServerBrief (no clone_state)."""
    return Task(id=t.id, name=t.name or "", state=t.state or "", clone=_clone(t.clone_server),
                source_id=(t.source_server.id or "") if t.source_server else "",
                source_state=(t.source_server.state or "") if t.source_server else "",
                target_server_id=(t.target_server.vm_id or "") if t.target_server else "",
                sub_tasks=_sub_tasks(t.sub_tasks, with_speed=False), migrate_speed_mbps=float(t.migrate_speed or 0),
                error=t.error_json or "", total_time=_int(t.total_time))


def command_from(c: Any) -> Command:
    """A ShowCommandResponse: command_name "" when there is nothing to do."""
    return Command(name=c.command_name or "", task_id=(c.command_param.task_id if c.command_param else None))


def consistency_from(sdk: Any, response: Any) -> list[ConsistencyResult]:
    """The latest verification run of result_list (documented shape, mgc_iac.cloud._sdk_gaps), each directory
    read through the SDK's own ConsistencyResult model. A count the answer lacks stays None (not clean)."""
    runs = consistency_result_list(response)
    if not runs:
        return []
    run = max(runs, key=lambda r: int(r.get("finished_time") or 0))
    rows = [sdk._deserialize(row, "ConsistencyResult") for row in run.get("consistency_result") or []]
    return [ConsistencyResult(r.dir_check or "", r.num_total_files, r.num_different_files, r.num_target_miss_files,
                              r.num_target_more_files, str(run.get("check_result") or ""),
                              int(run.get("finished_time") or 0)) for r in rows]


class SmsClient(ServiceClient):
    service = "sms"

    def _client_class(self) -> Any:
        from huaweicloudsdksms.v3 import SmsClient as Sdk

        return Sdk

    # ---- sources (agent side: register, commands; engine side: list, show, rename, delete) ------------------

    def register_source(self, facts: SourceFacts) -> str:
        """Register (or re-register: same MACs keep the id) a source host; returns the source id."""
        from huaweicloudsdksms.v3 import RegisterServerRequest

        body = self.body("PostSourceServerBody", facts.to_body())
        return self.call("register_server", RegisterServerRequest(body=body)).id

    def list_sources(self, name: str | None = None, state: str | None = None,
                     page_size: int = PAGE_LIMIT) -> list[SourceServer]:
        """Sources as list_servers has them: without MACs or disks (ask show_source for those), in pages of
        `page_size` (ListServers: limit 0-200, 0 meaning the default 200)."""
        from huaweicloudsdksms.v3 import ListServersRequest

        found: list[SourceServer] = []
        while True:
            answer = self.call("list_servers", ListServersRequest(name=name, state=state, limit=page_size,
                                                                  offset=len(found)))
            page = [source_from_list_item(s) for s in answer.source_servers or []]
            found += page
            if not page or len(found) >= _int(answer.count):
                return found

    def show_source(self, source_id: str) -> SourceServer:
        from huaweicloudsdksms.v3 import ShowServerRequest

        return source_from_detail(self.call("show_server", ShowServerRequest(source_id=source_id)))

    def update_source(self, source_id: str, name: str | None = None,
                      disks: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Rename a source, or change per-disk settings (need_migration, adjust_size)."""
        from huaweicloudsdksms.v3 import UpdateServerNameRequest

        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if disks is not None:
            body["disks"] = [dict(d) for d in disks]
        self.call("update_server_name", UpdateServerNameRequest(source_id=source_id,
                                                                body=self.body("PutSourceServerBody", body)))

    def delete_source(self, source_id: str) -> None:
        from huaweicloudsdksms.v3 import DeleteServerRequest

        self.call("delete_server", DeleteServerRequest(source_id=source_id))

    def show_command(self, source_id: str) -> Command:
        """The next command for the agent on this source (name "" when there is none). Also its heartbeat."""
        from huaweicloudsdksms.v3 import ShowCommandRequest

        return command_from(self.call("show_command", ShowCommandRequest(server_id=source_id), idempotent=False))

    def report_command_result(self, source_id: str, command_name: str, ok: bool,
                              detail: Mapping[str, Any] | None = None) -> None:
        from huaweicloudsdksms.v3 import UpdateCommandResultRequest

        body = self.body("CommandBody", {"command_name": command_name, "result": "success" if ok else "fail",
                                         "result_detail": dict(detail or {})})
        self.call("update_command_result", UpdateCommandResultRequest(server_id=source_id, body=body))

    # ---- tasks ------------------------------------------------------------------------------------------------

    def create_task(self, request: TaskRequest) -> str:
        """Create a migration task; returns its id. Not replayed on a lost answer: look it up by name instead."""
        from huaweicloudsdksms.v3 import CreateTaskRequest

        body = self.body("PostTask", request.to_body())
        return self.call("create_task", CreateTaskRequest(body=body), idempotent=False).id

    def show_task(self, task_id: str) -> Task:
        from huaweicloudsdksms.v3 import ShowTaskRequest

        return task_from_detail(self.call("show_task", ShowTaskRequest(task_id=task_id)))

    def list_tasks(self, name: str | None = None, state: str | None = None,
                   source_id: str | None = None, page_size: int = PAGE_LIMIT) -> list[Task]:
        """Tasks as list_tasks has them (no connected flag, no migration cycle: show_task has those), in pages of
        `page_size` (at most 200)."""
        from huaweicloudsdksms.v3 import ListTasksRequest

        found: list[Task] = []
        while True:
            request = ListTasksRequest(name=name, state=state, source_server_id=source_id, limit=page_size,
                                       offset=len(found))
            answer = self.call("list_tasks", request)
            page = [task_from_list_item(t) for t in answer.tasks or []]
            found += page
            if not page or len(found) >= _int(answer.count):
                return found

    def update_task(self, task_id: str, *, name: str | None = None, speed_limit_mbps: int | None = None,
                    migration_ip: str | None = None) -> None:
        """Change a task that is not running (name, speed limit, migration IP)."""
        from huaweicloudsdksms.v3 import UpdateTaskRequest

        body = {k: v for k, v in (("name", name), ("speed_limit", speed_limit_mbps), ("migration_ip", migration_ip))
                if v is not None}
        self.call("update_task", UpdateTaskRequest(task_id=task_id, body=self.body("PutTaskReq", body)))

    def delete_task(self, task_id: str) -> None:
        """Ask SMS to delete the task; it goes DELETING and disappears a moment later (wait_task_gone)."""
        from huaweicloudsdksms.v3 import DeleteTaskRequest

        self.call("delete_task", DeleteTaskRequest(task_id=task_id))

    def task_action(self, task_id: str, operation: TaskOperation, template_id: str | None = None) -> None:
        """start, stop (ABORTING, then ABORT), restart, cutover (cycle cutovering, then cutovered), clear
        (source clearing, then cleared), skip, test, clone_test (UpdateTaskStatusReq.template_id: the server
        template of the clone), network_check, migration_test. A wrong state raises CloudConflictError."""
        from huaweicloudsdksms.v3 import UpdateTaskStatusRequest

        fields: dict[str, Any] = {"operation": operation}
        if template_id:
            fields["template_id"] = template_id
        body = self.body("UpdateTaskStatusReq", fields)
        self.call("update_task_status", UpdateTaskStatusRequest(task_id=task_id, body=body), idempotent=False)

    def report_progress(self, task_id: str, progress: Progress) -> None:
        from huaweicloudsdksms.v3 import UpdateTaskSpeedRequest

        body = self.body("UpdateTaskSpeedReq", {
            "subtask_name": progress.subtask_name, "progress": int(progress.progress),
            "replicatesize": int(progress.replicated_bytes), "totalsize": int(progress.total_bytes),
            "migrate_speed": float(progress.migrate_speed_mbps)})
        self.call("update_task_speed", UpdateTaskSpeedRequest(task_id=task_id, body=body))

    def set_speed_limit(self, task_id: str, limits: Sequence[SpeedLimit]) -> None:
        from huaweicloudsdksms.v3 import UpdateSpeedRequest

        body = self.body("SpeedLimit", {"speed_limit": [
            {"start": s.start, "end": s.end, "speed": int(s.speed_mbps),
             "over_speed_threshold": float(s.over_speed_threshold)} for s in limits]})
        self.call("update_speed", UpdateSpeedRequest(task_id=task_id, body=body))

    def speed_limits(self, task_id: str) -> list[SpeedLimit]:
        from huaweicloudsdksms.v3 import ShowsSpeedLimitsRequest

        answer = self.call("shows_speed_limits", ShowsSpeedLimitsRequest(task_id=task_id))
        return [SpeedLimit(s.start or "", s.end or "", _int(s.speed), float(s.over_speed_threshold or 0))
                for s in answer.speed_limit or []]

    def consistency_result(self, task_id: str) -> list[ConsistencyResult]:
        """The per-directory counts of the task's latest verification run (empty when none was posted)."""
        from huaweicloudsdksms.v3 import ShowConsistencyResultRequest

        answer = self.call("show_consistency_result", ShowConsistencyResultRequest(task_id=task_id))
        try:
            return consistency_from(self.sdk, answer)
        except ValueError as exc:
            raise CloudError(f"task {task_id}: the consistency result is not in the documented shape ({exc})",
                             service="sms", operation="show_consistency_result") from exc

    def report_consistency_result(self, task_id: str, results: Sequence[ConsistencyResult]) -> None:
        """What the agent found when it verified the target (POST .../consistency-result)."""
        from huaweicloudsdksms.v3 import UpdateConsistencyResultRequest

        body = self.body("SetConsistencyResultRequestBody", {"consistency_result": [
            {"dir_check": r.dir_check, "num_total_files": _int(r.total_files),
             "num_different_files": _int(r.different_files), "num_target_miss_files": _int(r.target_missing_files),
             "num_target_more_files": _int(r.target_extra_files)} for r in results]})
        self.call("update_consistency_result", UpdateConsistencyResultRequest(task_id=task_id, body=body))

    def set_configuration(self, task_id: str, settings: Mapping[str, str]) -> None:
        """Task configuration keys: MIGRATE_EXCLUDE_DIR, SYNC_EXCLUDE_DIR, CONSISTENCY_DIR, DYNAMIC_PORT, ..."""
        from huaweicloudsdksms.v3 import UploadSpecialConfigurationSettingRequest

        body = self.body("ConfigurationRequestBody", {"configurations": [
            {"config_key": k, "config_value": str(v)} for k, v in settings.items()]})
        self.call("upload_special_configuration_setting",
                  UploadSpecialConfigurationSettingRequest(task_id=task_id, body=body))

    def configuration(self, task_id: str) -> dict[str, str]:
        from huaweicloudsdksms.v3 import ShowConfigSettingRequest

        answer = self.call("show_config_setting", ShowConfigSettingRequest(task_id=task_id))
        return {c.config_key: c.config_value or "" for c in answer.configurations or [] if c.config_key}
