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
mgc_iac.engine.runners.sms_task; they share this module's wait through SMS's own transitions (`settled`). The
provider's delete (MigrationTaskClear) is DeleteTask as Huawei allows it (`delete_task`). What each state means
for each step is mgc_iac.cloud.sms_states (one table, shared with any fleet reader); a state it does not know
fails the step naming it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from mgc_iac.cloud.endpoint import cloud_for
from mgc_iac.errors import CloudError, CloudNotFoundError
from mgc_iac.graph.kinds import MIGRATION_TASK
from providers._diff import diff_attrs

META = ("stack", "address", "cloud", "target_server_id")
ALL_DAY = ("00:00", "23:59")
POLL_SECONDS = 0.2
TIMEOUT_SECONDS = 24 * 3600.0


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
    """The task's configuration keys, which the agent reads before each copy:
    DYNAMIC_PORT (migration port); MIGRATE_EXCLUDE_DIR / SYNC_EXCLUDE_DIR (comma-separated subtrees left out of
    the full copy / the sync: advanced.copy_exclude_paths ONLY); CONSISTENCY_MODE (hash | size_mtime, or ""
    for no verification) and CONSISTENCY_DIR (the include paths it verifies, "" = the whole copy, then the
    verification excludes each prefixed with "!")."""
    verify = props.get("verify") or {}
    copy_excludes = ",".join(props.get("copy_exclude_paths") or ())
    mode = ("hash" if verify.get("hash") else "size_mtime") if verify.get("enabled") else ""
    # SMS has no key for verification excludes (ConfigBody enum, api-sms UploadConfigSetting); CONSISTENCY_DIR's
    # value is parsed by the agent, so the excludes ride in it marked "!": they never reach the copy's keys
    checked = [*(verify.get("include_paths") or ()), *(f"!{p}" for p in verify.get("exclude_paths") or ())]
    return {"DYNAMIC_PORT": str(int(props.get("migration_port") or 22)), "MIGRATE_EXCLUDE_DIR": copy_excludes,
            "SYNC_EXCLUDE_DIR": copy_excludes, "CONSISTENCY_MODE": mode,
            "CONSISTENCY_DIR": ",".join(checked) if mode else ""}


def find_source(cloud: Any, mac: str, name: str | None = None) -> Any:
    """The SMS source server whose network cards include `mac` (what the agent registered). list_servers has no
    networks: the sources named `name` are asked first and each is confirmed by its MACs in show_server; when
    none matches, every source is confirmed the same way. The MAC decides."""
    mac = mac.lower()
    named = cloud.sms.list_sources(name=name) if name else []
    for listed in named:
        source = cloud.sms.show_source(listed.id)
        if mac in (m.lower() for m in source.macs):
            return source
    asked = {n.id for n in named}
    for listed in cloud.sms.list_sources():          # named otherwise: every source, each confirmed by its MACs
        if listed.id in asked:
            continue
        source = cloud.sms.show_source(listed.id)
        if mac in (m.lower() for m in source.macs):
            return source
    raise CloudNotFoundError(f"no SMS source server has MAC {mac}: the agent has not registered it (StartUpAgent "
                             "runs it)", service="sms", operation="show_server")


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
        cloud = cloud_for(props["cloud"])
        source = find_source(cloud, props["source_mac"], props.get("source"))
        name = task_name(props)
        task_id = None
        if source.current_task_id:
            task_id = source.current_task_id
        else:
            same = cloud.sms.list_tasks(name=name)
            task_id = same[0].id if same else None
        if task_id is None:
            server = cloud.ecs.show_server(props["target_server_id"])
            public = props.get("network", "public") == "public"
            task_id = cloud.sms.create_task(task_request(
                cloud, name, source, server, props["target_name"], props["os"], props["type"], public,
                target_disks(source, server), syncing=bool(props.get("syncing")),
                start_target_server=bool(props.get("start_target_server")),
                speed_limit_mbps=int(props.get("bandwidth_limit_mbps") or 0),
                consistency_check=bool((props.get("verify") or {}).get("enabled"))))
        self._configure(cloud, task_id, props)
        task = cloud.sms.show_task(task_id)
        return CreateResult(task_id, {**props, "id": task_id, "source_id": source.id, "name": name,
                                      "state": task.state})

    @staticmethod
    def _configure(cloud: Any, task_id: str, props: dict[str, Any]) -> None:
        from mgc_iac.cloud import SpeedLimit

        cloud.sms.set_configuration(task_id, task_configuration(props))
        limit = props.get("bandwidth_limit_mbps")
        cloud.sms.set_speed_limit(task_id, [SpeedLimit(*ALL_DAY, int(limit))] if limit else [])

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
        delete_task(props["cloud"], id_)


# ---- waiting on SMS's own transitions (delete, and the engine's steps) ------------------------------


def _poll(check: Callable[[], bool], what: str, cancel: threading.Event | None, timeout: float | None) -> None:
    """Call `check()` every POLL_SECONDS until it answers True; the deadline or `cancel` raise. A poll that fails
    transiently is the client's to retry (its own bounded retries)."""
    limit = timeout or TIMEOUT_SECONDS
    deadline = time.monotonic() + limit
    stop = cancel or threading.Event()
    while not check():
        if stop.wait(POLL_SECONDS):
            raise CloudError(f"stopped waiting: {what} (interrupted)", service="sms", operation="show_task")
        if time.monotonic() > deadline:
            raise CloudError(f"{what} after {limit:.0f} s", service="sms", operation="show_task")


def settled(cloud: Any, task_id: str, cancel: threading.Event | None, timeout: float | None = None) -> Any:
    """The task once SMS has finished a transition it makes on its own (ABORTING, SKIPPING, RESETING...); a
    state SMS does not document raises UnknownStateError naming it."""
    from mgc_iac.cloud import sms_states

    seen: list[Any] = []

    def steady() -> bool:
        task = cloud.sms.show_task(task_id)
        seen[:] = [task]
        if task.state not in sms_states.TASK_STATES:
            sms_states.migration(task)       # raises UnknownStateError naming the state
        return task.state not in sms_states.TRANSIENT or task.state == "DELETING"

    _poll(steady, f"SMS task {task_id} still settling", cancel, timeout)
    return seen[0]


def delete_task(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event | None = None) -> None:
    """DeleteTask as Huawei allows it: a plain DELETE when the agent is disconnected or the task is ready,
    finished, failed or paused (sms_states.deletable: no stop first, as the Terraform provider); a task copying
    with its agent connected is paused first (action stop, ABORTING, then ABORT), since SMS refuses to delete
    it. Then wait through DELETING until it is gone."""
    from mgc_iac.cloud import sms_states

    cloud = cloud_for(cloud_config)
    try:
        task = settled(cloud, task_id, cancel)
        if not sms_states.deletable(task):
            cloud.sms.task_action(task_id, "stop")
            task = settled(cloud, task_id, cancel)
        if task.state != "DELETING":
            cloud.sms.delete_task(task_id)
    except CloudNotFoundError:
        return
    _until_gone(cloud, task_id, cancel)


def _until_gone(cloud: Any, task_id: str, cancel: threading.Event | None) -> None:
    def gone() -> bool:
        try:
            task = cloud.sms.show_task(task_id)
        except CloudNotFoundError:
            return True
        if task.state != "DELETING":
            raise CloudError(f"task {task_id} is {task.state} after DeleteTask, not DELETING", service="sms",
                             operation="delete_task")
        return False

    _poll(gone, f"SMS task {task_id} still DELETING", cancel, None)
