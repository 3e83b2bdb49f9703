"""SMS v3: source servers (registered by agents), migration tasks, their actions, progress and results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.cloud._types import (
    Command,
    ConsistencyResult,
    Progress,
    SourceFacts,
    SourceServer,
    SpeedLimit,
    SubTask,
    Task,
    TaskRequest,
)

TaskOperation = Literal["start", "stop", "restart", "cutover", "clear", "skip", "test", "clone_test",
                        "network_check", "migration_test"]
_COUNTS = ("num_total_files", "num_different_files", "num_target_miss_files", "num_target_more_files")


def _source(raw: dict[str, Any]) -> SourceServer:
    return SourceServer(
        id=raw["id"], name=raw.get("name", ""), ip=raw.get("ip", ""), os_type=raw.get("os_type", ""),
        state=raw.get("state", ""), connected=bool(raw.get("connected")),
        macs=tuple(n.get("mac", "") for n in raw.get("networks") or [] if n.get("mac")),
        cpu_quantity=int(raw.get("cpu_quantity") or 0), memory_bytes=int(raw.get("memory") or 0),
        migration_cycle=raw.get("migration_cycle") or "", current_task_id=raw.get("current_task") or "",
    )


def _task(raw: dict[str, Any]) -> Task:
    return Task(
        id=raw["id"], name=raw.get("name", ""), state=raw.get("state", ""),
        source_id=(raw.get("source_server") or {}).get("id", ""),
        target_server_id=(raw.get("target_server") or {}).get("vm_id", ""),
        migration_cycle=raw.get("migration_cycle") or "",
        sub_tasks=tuple(SubTask(s.get("name", ""), int(s.get("progress") or 0), float(s.get("migrate_speed") or 0))
                        for s in raw.get("sub_tasks") or []),
        replicated_bytes=int(raw.get("replicatesize") or 0), total_bytes=int(raw.get("totalsize") or 0),
        migrate_speed_mbps=float(raw.get("migrate_speed") or 0), remain_seconds=int(raw.get("remain_seconds") or 0),
        connected=bool(raw.get("connected")), error=str(raw.get("error_json") or ""),
    )


class SmsClient(ServiceClient):
    service = "sms"

    def _client_class(self) -> Any:
        from huaweicloudsdksms.v3 import SmsClient as Sdk

        return Sdk

    # ---- sources (agent side: register, commands; engine side: list, show, rename, delete) ------------------

    def register_source(self, facts: SourceFacts) -> str:
        """Register (or re-register: same MACs keep the id) a source host; returns the source id."""
        from huaweicloudsdksms.v3 import RegisterServerRequest

        return self.call("register_server", RegisterServerRequest(body=facts.to_body()))["id"]

    def list_sources(self, name: str | None = None, state: str | None = None) -> list[SourceServer]:
        from huaweicloudsdksms.v3 import ListServersRequest

        found: list[SourceServer] = []
        while True:
            raw = self.call("list_servers", ListServersRequest(name=name, state=state, limit=100, offset=len(found)))
            page = [_source(s) for s in raw.get("source_servers") or []]
            found += page
            if not page or len(found) >= int(raw.get("count") or 0):
                return found

    def show_source(self, source_id: str) -> SourceServer:
        from huaweicloudsdksms.v3 import ShowServerRequest

        return _source(self.call("show_server", ShowServerRequest(source_id=source_id)))

    def update_source(self, source_id: str, name: str | None = None,
                      disks: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Rename a source, or change per-disk settings (need_migration, adjust_size)."""
        from huaweicloudsdksms.v3 import UpdateServerNameRequest

        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if disks is not None:
            body["disks"] = [dict(d) for d in disks]
        self.call("update_server_name", UpdateServerNameRequest(source_id=source_id, body=body))

    def delete_source(self, source_id: str) -> None:
        from huaweicloudsdksms.v3 import DeleteServerRequest

        self.call("delete_server", DeleteServerRequest(source_id=source_id))

    def show_command(self, source_id: str) -> Command:
        """The next command for the agent on this source (name "" when there is none). Also its heartbeat."""
        from huaweicloudsdksms.v3 import ShowCommandRequest

        raw = self.call("show_command", ShowCommandRequest(server_id=source_id), idempotent=False)
        return Command(name=raw.get("command_name") or "", task_id=(raw.get("command_param") or {}).get("task_id"))

    def report_command_result(self, source_id: str, command_name: str, ok: bool,
                              detail: Mapping[str, Any] | None = None) -> None:
        from huaweicloudsdksms.v3 import UpdateCommandResultRequest

        body = {"command_name": command_name, "result": "success" if ok else "fail",
                "result_detail": dict(detail or {})}
        self.call("update_command_result", UpdateCommandResultRequest(server_id=source_id, body=body))

    # ---- tasks ------------------------------------------------------------------------------------------------

    def create_task(self, request: TaskRequest) -> str:
        """Create a migration task; returns its id. Not replayed on a lost answer: look it up by name instead."""
        from huaweicloudsdksms.v3 import CreateTaskRequest

        return self.call("create_task", CreateTaskRequest(body=request.to_body()), idempotent=False)["id"]

    def show_task(self, task_id: str) -> Task:
        from huaweicloudsdksms.v3 import ShowTaskRequest

        return _task(self.call("show_task", ShowTaskRequest(task_id=task_id)))

    def list_tasks(self, name: str | None = None, state: str | None = None,
                   source_id: str | None = None) -> list[Task]:
        from huaweicloudsdksms.v3 import ListTasksRequest

        found: list[Task] = []
        while True:
            request = ListTasksRequest(name=name, state=state, source_server_id=source_id, limit=100,
                                       offset=len(found))
            raw = self.call("list_tasks", request)
            page = [_task(t) for t in raw.get("tasks") or []]
            found += page
            if not page or len(found) >= int(raw.get("count") or 0):
                return found

    def update_task(self, task_id: str, *, name: str | None = None, speed_limit_mbps: int | None = None,
                    migration_ip: str | None = None) -> None:
        """Change a task that is not running (name, speed limit, migration IP)."""
        from huaweicloudsdksms.v3 import UpdateTaskRequest

        body = {k: v for k, v in (("name", name), ("speed_limit", speed_limit_mbps), ("migration_ip", migration_ip))
                if v is not None}
        self.call("update_task", UpdateTaskRequest(task_id=task_id, body=body))

    def delete_task(self, task_id: str) -> None:
        from huaweicloudsdksms.v3 import DeleteTaskRequest

        self.call("delete_task", DeleteTaskRequest(task_id=task_id))

    def task_action(self, task_id: str, operation: TaskOperation) -> None:
        """start, stop, restart (a failed/stopped task: full again; a finished one: incremental sync), cutover,
        clear, skip. A wrong state raises CloudConflictError."""
        from huaweicloudsdksms.v3 import UpdateTaskStatusRequest

        self.call("update_task_status", UpdateTaskStatusRequest(task_id=task_id, body={"operation": operation}),
                  idempotent=False)

    def report_progress(self, task_id: str, progress: Progress) -> None:
        from huaweicloudsdksms.v3 import UpdateTaskSpeedRequest

        body = {"subtask_name": progress.subtask_name, "progress": progress.progress,
                "replicatesize": progress.replicated_bytes, "totalsize": progress.total_bytes,
                "migrate_speed": progress.migrate_speed_mbps}
        self.call("update_task_speed", UpdateTaskSpeedRequest(task_id=task_id, body=body))

    def set_speed_limit(self, task_id: str, limits: Sequence[SpeedLimit]) -> None:
        from huaweicloudsdksms.v3 import UpdateSpeedRequest

        body = {"speed_limit": [{"start": s.start, "end": s.end, "speed": s.speed_mbps,
                                 "over_speed_threshold": s.over_speed_threshold} for s in limits]}
        self.call("update_speed", UpdateSpeedRequest(task_id=task_id, body=body))

    def speed_limits(self, task_id: str) -> list[SpeedLimit]:
        from huaweicloudsdksms.v3 import ShowsSpeedLimitsRequest

        raw = self.call("shows_speed_limits", ShowsSpeedLimitsRequest(task_id=task_id))
        return [SpeedLimit(s["start"], s["end"], int(s["speed"]), float(s.get("over_speed_threshold") or 0))
                for s in raw.get("speed_limit") or []]

    def consistency_result(self, task_id: str) -> list[ConsistencyResult]:
        from huaweicloudsdksms.v3 import ShowConsistencyResultRequest

        raw = self.call("show_consistency_result", ShowConsistencyResultRequest(task_id=task_id))
        return [ConsistencyResult(r.get("dir_check", ""), *(int(r.get(k) or 0) for k in _COUNTS))
                for r in raw.get("result_list") or []]

    def report_consistency_result(self, task_id: str, results: Sequence[ConsistencyResult]) -> None:
        """What the agent found when it verified the target (POST .../consistency-result)."""
        from huaweicloudsdksms.v3 import UpdateConsistencyResultRequest

        body = {"consistency_result": [
            {"dir_check": r.dir_check, "num_total_files": r.total_files, "num_different_files": r.different_files,
             "num_target_miss_files": r.target_missing_files, "num_target_more_files": r.target_extra_files}
            for r in results]}
        self.call("update_consistency_result", UpdateConsistencyResultRequest(task_id=task_id, body=body))

    def set_configuration(self, task_id: str, settings: Mapping[str, str]) -> None:
        """Task configuration keys: MIGRATE_EXCLUDE_DIR, SYNC_EXCLUDE_DIR, CONSISTENCY_DIR, DYNAMIC_PORT, ..."""
        from huaweicloudsdksms.v3 import UploadSpecialConfigurationSettingRequest

        body = {"configurations": [{"config_key": k, "config_value": str(v)} for k, v in settings.items()]}
        self.call("upload_special_configuration_setting",
                  UploadSpecialConfigurationSettingRequest(task_id=task_id, body=body))

    def configuration(self, task_id: str) -> dict[str, str]:
        from huaweicloudsdksms.v3 import ShowConfigSettingRequest

        raw = self.call("show_config_setting", ShowConfigSettingRequest(task_id=task_id))
        return {c["config_key"]: c.get("config_value", "") for c in raw.get("configurations") or []}
