"""The migration task: an SMS v3 task from a registered source to the existing target server.

Inputs: the graph's task attributes (mgc_iac.graph.build._task_attrs) plus `stack`, `address`, `cloud` and
`target_server_id` (the target's ECS id, an output of its target_server). The task is created with
exist_server=true (encrypted targets are created through ECS first); the migration port is set with the
DYNAMIC_PORT configuration key (create_task has no port field) and a bandwidth limit with a speed-limit rule.

Create looks up what exists first: the source is found by name (list_servers has no networks) and confirmed by
its MAC (show_server); a task the source already has (or one with the same name) is adopted instead of creating
a second one. If create fails after the task exists, the replay adopts it. The body is complete, as the API
reference requires for an existing target: target_server.disks mapped one to one from the source's disks onto
the target's volumes, and migration_ip = the target's EIP on a public network, its private IP on a private one.

The steps the engine runs on an existing task (start, sync, verify, cutover, clear) live in
mgc_iac.engine.runners.sms_task; they share this module's waits through SMS's own transitions. The provider's
delete (MigrationTaskClear) stops the task if it runs, deletes it, and waits through DELETING until it is gone.
"""

from __future__ import annotations

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


NAME_LENGTH = (4, 20)   # SMS task names: 4-20 characters (huaweicloud-api.md, Huawei's SMS notes)


def task_name(props: dict[str, Any]) -> str:
    """mgc-<8 hex of the workflow/server address>-<server, cut>: unique per server, 20 characters at most."""
    import hashlib

    owner = props["address"].rsplit("/", 1)[0]
    digest = hashlib.sha256(owner.encode()).hexdigest()[:8]
    return f"mgc-{digest}-{owner.rsplit('/', 1)[-1]}"[:NAME_LENGTH[1]]


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


def target_disks(cloud: Any, source: Any, server: Any) -> tuple[dict[str, Any], ...]:
    """target_server.disks of create_task: the source's disks in order (the boot disk first) onto the target's
    volumes in order (its system disk first), one to one (PostTask.target_server.disks: TargetDisks)."""
    volumes = list(server.volume_ids)
    if len(volumes) < len(source.disks):
        raise CloudError(f"target {server.name} has {len(volumes)} disks for the {len(source.disks)} disks of source "
                         f"{source.name}: give the target a disk for each source disk", service="sms",
                         operation="create_task")
    return tuple({"name": disk.name, "size": int(disk.size_bytes), "used_size": int(disk.used_bytes),
                  "device_use": disk.device_use or ("BOOT" if n == 0 else "NORMAL"), "disk_id": volumes[n]}
                 for n, disk in enumerate(source.disks))


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
    return TaskRequest(name=name, source_id=source.id, target_server_id=server.id, target_name=target_name,
                       os_type=os_name.upper(), region=settings.region, project_id=settings.project_id,
                       project_name=settings.region, type=task_type, use_public_ip=public,
                       migration_ip=migration_ip(server, public), target_disks=disks, **options)


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
                target_disks(cloud, source, server), syncing=bool(props.get("syncing")),
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

# states SMS passes through on its own (stop, skip, delete): wait, never act on them
TRANSIENT = ("ABORTING", "SKIPPING", "DELETING")


def _pause(cancel: threading.Event, deadline: float, what: str, timeout: float) -> None:
    if cancel.wait(POLL_SECONDS):
        raise CloudError(f"stopped waiting: {what} (interrupted)", service="sms", operation="show_task")
    if time.monotonic() > deadline:
        raise CloudError(f"{what} after {timeout:.0f} s", service="sms", operation="show_task")


def settled(cloud: Any, task_id: str, cancel: threading.Event, timeout: float = TIMEOUT_SECONDS) -> Any:
    """The task once SMS has finished an asynchronous transition (ABORTING, SKIPPING)."""
    deadline = time.monotonic() + timeout
    while True:
        task = cloud.sms.show_task(task_id)
        if task.state not in TRANSIENT:
            return task
        _pause(cancel, deadline, f"task {task_id} still {task.state}", timeout)


def until(check: Callable[[], bool], what: str, cancel: threading.Event | None = None,
           timeout: float = TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        _pause(cancel or threading.Event(), deadline, what, timeout)


def delete_task(cloud_config: dict[str, Any], task_id: str) -> None:
    """Stop the task if it runs (ABORTING, then ABORT), delete it, and wait through DELETING until it is gone."""
    cloud = cloud_for(cloud_config)
    never = threading.Event()
    try:
        task = cloud.sms.show_task(task_id)
        if task.state in ("RUNNING", "SYNCING"):
            cloud.sms.task_action(task_id, "stop")
        task = settled(cloud, task_id, never) if task.state != "DELETING" else task
        if task.state != "DELETING":
            cloud.sms.delete_task(task_id)
        until(lambda: _gone(cloud, task_id), f"task {task_id} still DELETING")
    except CloudNotFoundError:
        return


def _gone(cloud: Any, task_id: str) -> bool:
    try:
        cloud.sms.show_task(task_id)
    except CloudNotFoundError:
        return True
    return False
