"""What the lab's CreateTask (POST /v3/tasks) refuses, each rule with its Huawei source.

- required fields, type / os_type values, exist_server needing target_server.vm_id, disks and migration_ip:
  SMS API reference CreateTask (PostTask) and the Terraform provider's `target_server_id` RequiredWith
  `migration_ip` (huaweicloud/services/sms/resource_huaweicloud_sms_task.go);
- the task name: "only Chinese characters, English letters, digits, underscores and hyphens" (SDK 3.1.219
  PostTask.name docstring), 1-64 characters (API CreateTask);
- target_server.disks built from the source's init_target_server.disks WITH their physical_volumes, sizes in
  bytes (DiskIntargetServer.size "unit: bytes"; Terraform buildCreateTaskTargetServerDisksDefaultBodyParams
  copies name, size, device_use and physical_volumes from ShowServer's init_target_server): a disk sent without
  the physical volumes its source disk has, or with a size below the data on it (a size in GB, say), is refused
  SMS.0515 (the code field reports and huaweicloud-skills' SMS error table give for disk information that does
  not match the source);
- the boot disk (device_use BOOT, or OS where no disk is BOOT) goes onto the target's volume whose bootIndex is
  "0", every other disk onto a "-1" volume (SDK ServerExtendVolumeAttachment.boot_index): the code for a boot
  disk on a data volume is not published; the lab answers SMS.0515 (see parity_allowlist.NOT_DOCUMENTED_CODES).
"""

from __future__ import annotations

import re
from typing import Any

from mgc_iac.lab.context import LabContext, LabError, bad_request

NAME = re.compile(r"^[A-Za-z0-9_\-\u4e00-\u9fff]{1,64}$")
NAME_RULE = "1-64 characters: letters, digits, '_', '-' (and Chinese characters)"
REQUIRED = ("name", "type", "os_type", "source_server", "target_server", "region_name", "region_id",
            "project_name", "project_id")


def disk_mismatch(message: str) -> LabError:
    return bad_request("SMS.0515", f"the target disks do not match the source's disks: {message}")


def check_name(name: Any) -> None:
    if not isinstance(name, str) or not NAME.match(name):
        raise bad_request("SMS.2009", f"name {name!r} is invalid: {NAME_RULE}")


def check_body(lab: LabContext, body: dict[str, Any]) -> None:
    """The body on its own: required fields, the name, the values, an existing target's fields."""
    for field_ in REQUIRED:
        if not body.get(field_):
            raise bad_request("SMS.2009", f"{field_} is required")
    check_name(body["name"])
    if body["type"] not in ("MIGRATE_FILE", "MIGRATE_BLOCK") or body["os_type"] not in ("LINUX", "WINDOWS"):
        raise bad_request("SMS.2009", "type is MIGRATE_FILE|MIGRATE_BLOCK and os_type LINUX|WINDOWS")
    if body["project_id"] != lab.project_id:
        raise bad_request("SMS.2009", f"project_id {body['project_id']} is not a project of this account")
    target = body["target_server"]
    if body.get("exist_server"):
        if not target.get("vm_id") or lab.store.get("ecs_server", target["vm_id"]) is None:
            raise bad_request("SMS.2009", f"target_server.vm_id {target.get('vm_id')!r} is not an existing server")
        if not target.get("disks"):
            raise bad_request("SMS.2009", "target_server.disks is required for an existing target server")
        if not body.get("migration_ip"):
            raise bad_request("SMS.2009", "migration_ip is required for an existing target server")


def _boot_disk(disks: list[dict[str, Any]]) -> str | None:
    """The name of the source disk that boots: device_use BOOT, else OS (Windows' system disk)."""
    for use in ("BOOT", "OS"):
        found = next((d.get("name") for d in disks if d.get("device_use") == use), None)
        if found:
            return str(found)
    return None


def check_disks(lab: LabContext, body: dict[str, Any], source: dict[str, Any]) -> None:
    """target_server.disks against the source's disks (and, for an existing target, its volumes)."""
    target = body["target_server"]
    sent = list(target.get("disks") or [])
    known = {d.get("name"): d for d in source.get("disks") or []}
    for disk in sent:
        name = disk.get("name")
        if known and name not in known:
            raise disk_mismatch(f"{name!r} is not a disk of source {source['id']} ({', '.join(map(str, known))})")
        wanted = known.get(name) or {}
        volumes = wanted.get("physical_volumes") or []
        given = disk.get("physical_volumes") or []
        if volumes and sorted(v.get("name") for v in given) != sorted(v.get("name") for v in volumes):
            raise disk_mismatch(f"disk {name} needs its physical_volumes "
                                f"({', '.join(str(v.get('name')) for v in volumes)}) as init_target_server has them")
        used = int(wanted.get("used_size") or 0)
        if int(disk.get("size") or 0) < used:
            raise disk_mismatch(f"disk {name} has size {disk.get('size')} bytes, less than the {used} bytes used on "
                                "the source (sizes are in bytes)")
    if not body.get("exist_server"):
        return
    server = lab.store.get("ecs_server", target["vm_id"]) or {}
    volumes = list(server.get("volumes") or [])
    ids = [d.get("disk_id") for d in sent]
    unknown = [i for i in ids if i not in volumes]
    if unknown:
        raise bad_request("SMS.2009", f"target_server.disks: {unknown} are not disks of server {target['vm_id']}")
    if len(set(ids)) != len(ids):
        raise disk_mismatch("two disks are sent onto one volume")
    boot_volume = volumes[0] if volumes else None     # the lab's ECS keeps the boot volume first internally
    boot = _boot_disk(sent)
    for disk in sent:
        on_boot = disk.get("disk_id") == boot_volume
        if (disk.get("name") == boot) != on_boot:
            raise disk_mismatch(f"disk {disk.get('name')} ({disk.get('device_use')}) is paired with volume "
                                f"{disk.get('disk_id')}, whose bootIndex is {'0' if on_boot else '-1'}: the boot "
                                "disk goes onto the volume with bootIndex 0, the others onto bootIndex -1")
