"""The migration task: an SMS v3 task from a registered source to the existing target server.

Inputs: the graph's task attributes (mgc_iac.graph.build._task_attrs) plus `stack`, `address`, `cloud` and
`target_server_id` (the target's ECS id, an output of its target_server). The task is created with
exist_server=true (encrypted targets are created through ECS first); the migration port is set with the
DYNAMIC_PORT configuration key (create_task has no port field) and a bandwidth limit with a speed-limit rule.

Create looks up what exists first: the source is found by name (list_servers has no networks) and confirmed by
its MAC (show_server); a task the source already has (or one with the same name) is adopted instead of creating
a second one. If create fails after the task exists, the replay adopts it. The body is complete, as the API
reference requires for an existing target: target_server.disks are SMS's recommended disks (init_target_server,
with their physical volumes, sizes in bytes) paired with the target's volumes by bootIndex, and migration_ip =
the target's EIP on a public network, its private IP on a private one. The task name is valid for SMS whatever
the server is called (task_name).

The steps the engine runs on an existing task (start, sync, verify, cutover, clear) live in
mgc_iac.engine.runners.sms_task; they and the provider's delete (MigrationTaskClear: DeleteTask as Huawei allows
it) share the cloud's actions and waits on a task (mgc_iac/cloud/sms_tasks.py), all of them through the apply's
one FleetReader (paged ListTasks/ListServers at the workflow's poll_interval). What each state means for each
step is mgc_iac.cloud.sms_states (one table, shared with the fleet reader); a state it does not know fails the
step naming it.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from mgc_iac.cloud import SMS_POLL_SECONDS, cloud_for, delete_sms_task
from mgc_iac.errors import CloudError, CloudNotFoundError
from mgc_iac.graph import MIGRATION_TASK
from mgc_iac.providers._diff import diff_attrs
from mgc_iac.providers._sources import find_source

META = ("stack", "address", "cloud", "target_server_id")
ALL_DAY = ("00:00", "23:59")


TASK_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")   # SDK PostTask.name: letters, digits, '_', '-'; 1-64 (API)


def task_name(props: dict[str, Any]) -> str:
    """A valid, stable, unique SMS task name: mgc-<server>-<10 hex of stack/workflow/server>, at most 64
    characters of letters, digits, '_' and '-' (SDK PostTask.name; API CreateTask). A server name's other
    characters ('.', the only one the stack allows besides those) become '_', a long name is cut; the digest
    of the full address keeps every name unique, across stacks sharing one SMS account too."""
    import hashlib

    owner = props["address"].rsplit("/", 1)[0]
    digest = hashlib.sha256(f"{props.get('stack', '')}/{owner}".encode()).hexdigest()[:10]
    server = re.sub(r"[^A-Za-z0-9_-]", "_", owner.rsplit("/", 1)[-1])
    name = f"mgc-{server[:64 - len('mgc--') - len(digest)]}-{digest}"
    assert TASK_NAME.match(name), name
    return name


def task_configuration(props: dict[str, Any]) -> dict[str, str]:
    """The task's configuration keys (SDK ConfigBody.config_key), which the agent reads before each copy:
    DYNAMIC_PORT (migration port); MIGRATE_EXCLUDE_DIR / SYNC_EXCLUDE_DIR (comma-separated subtrees left out of
    the full copy / the sync: advanced.copy_exclude_paths ONLY); CONSISTENCY_DIR (the directories the agent's
    own quick check covers, comma-separated as the workflow page writes paths: the include paths, "/" for the
    whole copy, "" when verification is off). CONSISTENCY_MODE is not sent, nor any exclude syntax inside
    CONSISTENCY_DIR: their values are not documented (ConfigBody names the keys only; huawei-behaviour.md),
    so mgc-iac does not invent conventions the agent would have to understand. Hash and verification
    excludes are mgc-iac's OWN verification (VerifyConsistency over SSH), never the agent's."""
    verify = props.get("verify") or {}
    copy_excludes = ",".join(props.get("copy_exclude_paths") or ())
    checked = ",".join(verify.get("include_paths") or ["/"]) if verify.get("enabled") else ""
    return {"DYNAMIC_PORT": str(int(props.get("migration_port") or 22)), "MIGRATE_EXCLUDE_DIR": copy_excludes,
            "SYNC_EXCLUDE_DIR": copy_excludes, "CONSISTENCY_DIR": checked}


_PLAN_VOLUME = ("name", "size", "used_size", "device_use", "file_system", "mount_point", "index", "uuid",
                "inode_size")                               # PhysicalVolumes, what TargetDisks carries


def target_disks(source: Any, server: Any) -> tuple[dict[str, Any], ...]:
    """target_server.disks of create_task: SMS's recommended target disks (ShowServer's init_target_server.disks,
    their physical_volumes included, sizes in bytes: Terraform's buildCreateTaskTargetServerDisksDefaultBodyParams)
    paired with the target's volumes by bootIndex (SDK ServerExtendVolumeAttachment: "0" boots, "-1" the others;
    the list's order is not documented): the disk that boots (BOOT, else OS) onto the "0" volume, the others in
    SMS's order onto the "-1" volumes in device order (/dev/vdb, /dev/vdc...)."""
    from mgc_iac.cloud import TargetDiskPlan

    plan = list(source.target_plan) or [TargetDiskPlan(d.name, d.size_bytes, d.used_bytes, d.device_use)
                                        for d in source.disks]
    boot_volumes = [v for v in server.volumes if v.boot]
    data_volumes = sorted((v for v in server.volumes if not v.boot), key=lambda v: (len(v.device), v.device))
    if len(boot_volumes) != 1:
        raise CloudError(f"target {server.name} has {len(boot_volumes)} volumes with bootIndex 0, not one: cannot "
                         "tell which volume boots", service="ecs", operation="show_server")
    if len(plan) > len(server.volumes):
        raise CloudError(f"target {server.name} has {len(server.volumes)} disks for the {len(plan)} disks of source "
                         f"{source.name}: give the target a disk for each source disk", service="sms",
                         operation="create_task")
    boot = next((d for d in plan if d.device_use == "BOOT"), None) or next(
        (d for d in plan if d.device_use == "OS"), None) or (plan[0] if plan else None)
    volumes = iter(data_volumes)
    disks = []
    for disk in plan:
        volume = boot_volumes[0] if disk is boot else next(volumes)
        disks.append({"name": disk.name, "size": int(disk.size_bytes), "used_size": int(disk.used_bytes),
                      "device_use": disk.device_use or ("BOOT" if disk is boot else "NORMAL"), "disk_id": volume.id,
                      "physical_volumes": [{k: v[k] for k in _PLAN_VOLUME if v.get(k) is not None}
                                           for v in disk.physical_volumes]})
    return tuple(disks)


def migration_ip(server: Any, public: bool) -> str:
    """Where the agent sends the data: the target's EIP on a public network, its private IP on a private one."""
    ips = server.public_ips if public else server.private_ips
    if not ips:
        kind = "EIP (public network)" if public else "private IP"
        raise CloudError(f"target {server.name} has no {kind}: the migration needs one to reach it", service="sms",
                         operation="create_task")
    return str(ips[0])


def task_request(cloud: Any, name: str, source: Any, server: Any, target_name: str, os_name: str, task_type: str,
                 public: bool, disks: tuple[dict[str, Any], ...], **options: Any) -> Any:
    """The complete create_task body for an existing target (exist_server=true)."""
    from mgc_iac.cloud import TaskRequest

    settings = cloud.settings
    linux = os_name.lower() == "linux"
    return TaskRequest(name=name, source_id=source.id, target_server_id=server.id, target_name=target_name,
                       os_type=os_name.upper(), region=settings.region, project_id=settings.project_id,
                       project_name=settings.region, type=task_type, use_public_ip=public,
                       migration_ip=migration_ip(server, public), target_disks=disks,
                       # InitTargetServer.volume_groups: "Linux: required, [] when there are none"
                       volume_groups=tuple(source.volume_groups) if linux else None,
                       btrfs_list=tuple(source.btrfs_list), **options)


class MigrationTaskProvider(ResourceProvider):
    serialize_as_secret_always = False
    stack_setting: str | None = None  # `mgc-iac:stack` under Pulumi (configure); the engine never sets it

    def configure(self, req: ConfigureRequest) -> None:
        """Under Pulumi: the stack of `pulumi config set mgc-iac:stack DIR`, so a create can start the agent."""
        self.stack_setting = req.config.get("stack")

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(f, "is required") for f in ("source_mac", "os", "type", "target_name")
                    if not news.get(f)]
        port = news.get("migration_port")
        if port is not None and not (port == 22 or 10000 <= int(port) <= 65535):
            failures.append(CheckFailure("migration_port", "22, or a port in 10000-65535"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return diff_attrs(MIGRATION_TASK, olds, news, META)

    def create(self, props: dict[str, Any]) -> CreateResult:
        try:
            outs = create_task_for(props)
        except CloudNotFoundError:
            # under Pulumi nothing ran StartUpAgent: start the agent here, as the step does (idempotent), once
            from mgc_iac.providers.source_agent import ensure_agent_for_task

            if not ensure_agent_for_task(props, self.stack_setting):
                raise
            outs = create_task_for(props)
        return CreateResult(outs["id"], outs)

    @staticmethod
    def _configure(cloud: Any, task_id: str, props: dict[str, Any], fresh: bool = False) -> None:
        _configure(cloud, task_id, props, fresh)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        task = cloud_for(props["cloud"]).sms.show_task(id_)
        return ReadResult(id_, {**props, "id": id_, "state": task.state}, props)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """In place: the migration port and the bandwidth limit; other task settings apply on the next run."""
        cloud = cloud_for(news["cloud"])
        if olds.get("cleared"):
            return UpdateResult({**olds, **news})
        self._configure(cloud, id_, news)
        task = cloud.sms.show_task(id_)
        return UpdateResult({**olds, **news, "id": id_, "state": task.state})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Stop the task if it runs, then delete it. If it fails, the task is assumed to still exist."""
        delete_sms_task(props["cloud"], id_)


def _configure(cloud: Any, task_id: str, props: dict[str, Any], fresh: bool = False) -> None:
    """The task's configuration keys and speed limit; a task just created has no limit to clear."""
    from mgc_iac.cloud import SpeedLimit

    cloud.sms.set_configuration(task_id, task_configuration(props))
    limit = props.get("bandwidth_limit_mbps")
    if limit or not fresh:
        cloud.sms.set_speed_limit(task_id, [SpeedLimit(*ALL_DAY, int(limit))] if limit else [])


def create_task_for(props: dict[str, Any], *, source_id: str = "", replay: bool = True) -> dict[str, Any]:
    """The provider's create, as the engine also runs it. `source_id`: the source StartUpAgent saw register (its
    MAC is still confirmed with show_server); `replay=False` (the step's first attempt) skips looking the task
    up by name, since only this step creates it and a task of the source shows in its current_task anyway."""
    cloud = cloud_for(props["cloud"])
    source = None
    if source_id:
        candidate = cloud.sms.show_source(source_id)
        if props["source_mac"].lower() in (m.lower() for m in candidate.macs):
            source = candidate
    source = source or find_source(cloud, props["source_mac"], props.get("source"))
    name = task_name(props)
    task_id = source.current_task_id or None
    if task_id is None and replay:
        same = cloud.sms.list_tasks(name=name)
        task_id = same[0].id if same else None
    fresh = task_id is None
    if fresh:
        server = cloud.ecs.show_server(props["target_server_id"])
        public = props.get("network", "public") == "public"
        task_id = cloud.sms.create_task(task_request(
            cloud, name, source, server, props["target_name"], props["os"], props["type"], public,
            target_disks(source, server), syncing=bool(props.get("syncing")),
            start_target_server=bool(props.get("start_target_server")),
            speed_limit_mbps=int(props.get("bandwidth_limit_mbps") or 0),
            consistency_check=bool((props.get("verify") or {}).get("enabled"))))
    _configure(cloud, str(task_id), props, fresh)
    state = "READY" if fresh else cloud.sms.show_task(str(task_id)).state   # a new task is READY (CreateTask)
    return {**props, "id": task_id, "source_id": source.id, "name": name, "state": state}


def poll_interval(spec: dict[str, Any] | None, workflow: str) -> float:
    """The workflow's advanced.poll_interval (seconds), Terraform's 10 s when the spec says nothing."""
    wf = next((w for w in (spec or {}).get("workflows", []) if w.get("name") == workflow), {})
    return float((wf.get("advanced") or {}).get("poll_interval") or SMS_POLL_SECONDS)
