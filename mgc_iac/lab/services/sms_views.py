"""SMS answers of the lab, built field by field in the shapes of the SDK 3.1.219 response models
(huaweicloudsdksms.v3.model). Every answer is also checked against its model before it is sent
(mgc_iac.lab.contract), so a field the SDK does not declare, or a value of the wrong type, never leaves the lab.
"""

from __future__ import annotations

from typing import Any

from mgc_iac.lab.context import LabContext
from mgc_iac.lab.services.sms_machine import connected

_PLAN_DISK = ("name", "size", "device_use", "used_size")
_PLAN_VOLUME = ("device_use", "file_system", "index", "mount_point", "name", "size", "inode_size", "used_size", "uuid")
_TARGET_VOLUME = ("device_use", "file_system", "index", "mount_point", "name", "size", "used_size", "uuid")


def init_target_server(s: dict[str, Any]) -> dict[str, Any]:
    """InitTargetServer: SMS's recommended target, from the disks the agent registered (DiskIntargetServer with
    their PhysicalVolumes, sizes in bytes) and the volume groups ("Linux: required, [] when there are none")."""
    disks = [{**{k: d[k] for k in _PLAN_DISK if k in d},
              "physical_volumes": [{k: v[k] for k in _PLAN_VOLUME if k in v} for v in d.get("physical_volumes") or []]}
             for d in s.get("disks") or []]
    return {"disks": disks, "volume_groups": s.get("volume_groups") or []}


def _current_task(lab: LabContext, source: dict[str, Any], detail: bool) -> dict[str, Any] | None:
    """TaskByServerSource (show_server) / TaskByServerSources (list_servers): an object, not an id."""
    task = lab.store.get("sms_task", source.get("current_task") or "")
    if task is None:
        return None
    out = {"id": task["id"], "name": task["name"], "type": task["type"], "state": task["state"],
           "start_date": task["start_date"], "speed_limit": task["speed_limit"],
           "migrate_speed": float(task["migrate_speed"]), "start_target_server": task["start_target_server"],
           "region_id": task["region_id"], "project_name": task["project_name"], "project_id": task["project_id"],
           "target_server": {"vm_id": task["target_server"]["vm_id"], "name": task["target_server"]["name"]},
           "exist_server": task["exist_server"], "use_public_ip": task["use_public_ip"]}
    if not detail:
        out["remain_seconds"] = task["remain_seconds"]
    return out


def source_detail(lab: LabContext, s: dict[str, Any]) -> dict[str, Any]:
    """ShowServerResponse."""
    return {"id": s["id"], "ip": s["ip"], "name": s["name"], "hostname": s.get("hostname") or s["name"],
            "add_date": s["add_date"], "os_type": s["os_type"], "os_version": s.get("os_version", ""),
            "state": s["state"], "connected": connected(lab, s), "firmware": s.get("firmware", "BIOS"),
            "cpu_quantity": int(s.get("cpu_quantity") or 0), "memory": int(s.get("memory") or 0),
            "current_task": _current_task(lab, s, True), "disks": s.get("disks") or [],
            "init_target_server": init_target_server(s), "btrfs_list": s.get("btrfs_list") or [],
            "state_action_time": int(s.get("state_action_time") or 0),
            "volume_groups": s.get("volume_groups") or [], "networks": s.get("networks") or [],
            "checks": s.get("checks") or [], "migration_cycle": s["migration_cycle"],
            "replicatesize": int(s["replicatesize"]), "totalsize": int(s["totalsize"]),
            "last_visit_time": int(s.get("last_seen", 0) * 1000), "agent_version": s.get("agent_version", "")}


def source_item(lab: LabContext, s: dict[str, Any]) -> dict[str, Any]:
    """SourceServersResponseBody (list_servers): no networks, no disks."""
    return {"id": s["id"], "ip": s["ip"], "name": s["name"], "add_date": s["add_date"], "os_type": s["os_type"],
            "os_version": s.get("os_version", ""), "state": s["state"], "connected": connected(lab, s),
            "cpu_quantity": int(s.get("cpu_quantity") or 0), "memory": int(s.get("memory") or 0),
            "current_task": _current_task(lab, s, False), "checks": s.get("checks") or [],
            "replicatesize": int(s["replicatesize"]), "totalsize": int(s["totalsize"]),
            "last_visit_time": int(s.get("last_seen", 0) * 1000), "migration_cycle": s["migration_cycle"],
            "is_consistency_result_exist": False}


def _source_of(lab: LabContext, t: dict[str, Any]) -> dict[str, Any]:
    return lab.store.get("sms_source", t["source_server"]["id"]) or {}


def _target_disks(t: dict[str, Any]) -> list[dict[str, Any]]:
    """TargetDisk items of TaskTargetServer (what create_task's target_server.disks said, physical volumes
    included as TargetPhysicalVolumes)."""
    keys = ("device_use", "disk_id", "name", "size", "used_size")
    return [{**{k: d[k] for k in keys if k in d},
             "physical_volumes": [{k: v[k] for k in _TARGET_VOLUME if k in v} for v in d.get("physical_volumes") or []]}
            for d in t["target_server"].get("disks") or []]


def task_detail(lab: LabContext, t: dict[str, Any]) -> dict[str, Any]:
    """ShowTaskResponse: the cycle is in source_server.migration_cycle, progress in sub_tasks."""
    source = _source_of(lab, t)
    return {
        "name": t["name"], "type": t["type"], "os_type": t["os_type"], "id": t["id"], "priority": t["priority"],
        "speed_limit": t["speed_limit"], "region_id": t["region_id"], "start_target_server": t["start_target_server"],
        "migration_ip": t["migration_ip"], "region_name": t["region_name"], "project_name": t["project_name"],
        "project_id": t["project_id"], "vm_template_id": t.get("vm_template_id", ""),
        "source_server": {"id": t["source_server"]["id"], "ip": source.get("ip", ""), "name": source.get("name", ""),
                          "os_type": source.get("os_type", ""), "os_version": source.get("os_version", ""),
                          "state": source.get("state", ""), "migration_cycle": source.get("migration_cycle", "")},
        "target_server": {"vm_id": t["target_server"]["vm_id"], "name": t["target_server"]["name"],
                          "disks": _target_disks(t)},
        "state": t["state"], "estimate_complete_time": t.get("estimate_complete_time", 0),
        "connected": bool(source) and connected(lab, source), "create_date": t["create_date"],
        "start_date": t["start_date"], "finish_date": t["finish_date"], "migrate_speed": float(t["migrate_speed"]),
        "error_json": t["error_json"], "total_time": t["total_time"], "remain_seconds": t["remain_seconds"],
        "sub_tasks": [{k: s[k] for k in ("id", "name", "progress", "start_date", "end_date", "migrate_speed")}
                      for s in t["sub_tasks"]],
        "need_migration_test": t.get("need_migration_test", False),
        **({"clone_server": t["clone_server"]} if t.get("clone_server") else {}),
        **({"network_check_info": t["network_check_info"]} if t.get("network_check_info") else {}),
    }


def task_item(lab: LabContext, t: dict[str, Any]) -> dict[str, Any]:
    """TasksResponseBody (list_tasks)."""
    source = _source_of(lab, t)
    return {
        "id": t["id"], "name": t["name"], "type": t["type"], "os_type": t["os_type"], "state": t["state"],
        "estimate_complete_time": t.get("estimate_complete_time", 0), "create_date": t["create_date"],
        "priority": t["priority"], "speed_limit": t["speed_limit"], "migrate_speed": float(t["migrate_speed"]),
        "start_target_server": t["start_target_server"], "error_json": t["error_json"],
        "total_time": t["total_time"], "migration_ip": t["migration_ip"],
        "sub_tasks": [{k: s[k] for k in ("id", "name", "progress", "start_date", "end_date")} for s in t["sub_tasks"]],
        "source_server": {"id": t["source_server"]["id"], "ip": source.get("ip", ""), "name": source.get("name", ""),
                          "os_type": source.get("os_type", ""), "os_version": source.get("os_version", ""),
                          "state": source.get("state", "")},
        "target_server": {"vm_id": t["target_server"]["vm_id"], "name": t["target_server"]["name"]},
        "syncing": t["syncing"], "need_migration_test": t.get("need_migration_test", False),
        # TasksResponseBody.clone_server is a CloneServerBrief (SDK): vm_id and name, no clone_state
        **({"clone_server": {k: t["clone_server"][k] for k in ("vm_id", "name")}} if t.get("clone_server") else {}),
    }


def consistency(t: dict[str, Any]) -> dict[str, Any]:
    """ShowConsistencyResultResponse in the documented (nested) shape: mgc_iac.cloud._sdk_gaps."""
    return {"task_id": t["id"], "result_list": t["result_list"]}
