"""The steps of a server's SMS task the engine runs on an existing task: an action on the task, then a wait.

    StartUpAgent         register_simulated_source (lab only) or the SSH agent (runners/agent.py); then the
                         provider's create (providers/migration_task.py)
    StartMigration       start_migration: action start, poll until MIGRATE_SUCCESS
    StartSynchronization synchronize: action restart (incremental), poll until SYNC_SUCCESS
    VerifyConsistency    verify: the task's latest consistency run must be clean
    Cutover              cutover: action cutover, wait through cutovering until cutovered, then start or stop
                         the target as the spec asks
    SourceClear          clear_source: action clear, wait through clearing until cleared (the agent stops)
    MigrationTaskClear   the provider's delete (providers.migration_task.delete_task)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mgc_iac.cloud.endpoint import cloud_for
from mgc_iac.cloud.lookups import lookup
from mgc_iac.errors import CloudConflictError, CloudError
from providers.migration_task import POLL_SECONDS, TIMEOUT_SECONDS, settled, until


def register_simulated_source(cloud_config: dict[str, Any], source: dict[str, Any]) -> str:
    """The lab's simulated agent: register the source through the SMS register API (what the SMS-Agent does
    when it starts) so the task can be created. Only with the lab's `instant_transfers` setting, where a task
    completes without an agent copying data; real migrations start the agent over SSH."""
    from mgc_iac.cloud import LabControl, SourceFacts

    cloud = cloud_for(cloud_config)
    if cloud_config.get("provider") != "lab" or not lookup(
            cloud_config, "lab_settings", "", lambda: LabControl(cloud.settings).settings()).get("instant_transfers"):
        raise CloudError(f"source {source['name']} has no SSH access, and the lab's simulated agent needs the lab "
                         "setting instant_transfers (seed `lab: {instant_transfers: true}`); or give the source "
                         "`ssh:` access", service="sms", operation="register_server")
    gib = 1024 ** 3
    disks = tuple({"name": d["device"], "size": int(d["size_gb"] * gib), "used_size": int(d.get("used_gb", 0) * gib),
                   "device_use": "BOOT" if n == 0 else "NORMAL"} for n, d in enumerate(source["disks"]))
    facts = SourceFacts(name=source["name"], ip=str(source["ip"]), os_type=source["os"].upper(),
                        macs=(source["mac"],), cpu_quantity=int(source["cpus"]),
                        memory_bytes=int(source["memory_mb"]) * 1024 * 1024, disks=disks,
                        os_version=source.get("os_version") or "", agent_version="lab-simulated")
    return cloud.sms.register_source(facts)


class AgentDisconnectedError(CloudError):
    """The task runs but its agent is gone: SMS lost its heartbeat, or the local agent process ended."""


def task_progress(task: Any, source: Any = None) -> dict[str, Any]:
    """A task's progress figures: the running subtask's percent (ShowTask), the byte counts of its source
    (ShowServer's replicatesize/totalsize: a task's answer has none)."""
    running = [s for s in task.sub_tasks if 0 < s.progress < 100]
    total = int(getattr(source, "total_bytes", 0) or 0)
    done = int(getattr(source, "replicated_bytes", 0) or 0)
    percent = running[-1].progress if running else (min(100, done * 100 // total) if total else 0)
    return {"state": task.state, "percent": percent, "replicated_bytes": done, "total_bytes": total,
            "speed_mbps": float(task.migrate_speed_mbps or 0.0), "remain_seconds": int(task.remain_seconds or 0)}


def _wait(cloud: Any, task_id: str, done: tuple[str, ...], failed: tuple[str, ...], cancel: threading.Event,
          timeout: float = TIMEOUT_SECONDS, agent_alive: Callable[[], bool] | None = None,
          on_progress: Callable[[dict[str, Any]], None] | None = None) -> Any:
    """Poll the task until a `done` state; a `failed` state, a disconnected agent (the task's `connected`
    flag, or `agent_alive()` answering False) or the timeout raise. Intermediate states (ABORTING, SKIPPING,
    DELETING, cutovering, clearing) are waited through; `on_progress` gets every poll's figures."""
    from mgc_iac.cloud.wait import WaitPolicy, single_attempt, wait_until

    sms = single_attempt(cloud.sms)  # transient poll failures are waited out by wait_until, until the deadline

    def reached(task: Any) -> bool:
        if on_progress is not None:
            on_progress(task_progress(task, _source_bytes(sms, task.source_id)))
        if task.state in done:
            return True
        if task.state in failed:
            raise CloudError(f"task {task_id} is {task.state}: {task.error or 'no detail'} (retry the step after "
                             "fixing the cause; after a source reboot, a full retry)", service="sms",
                             operation="show_task")
        if task.state in ("RUNNING", "SYNCING") and (not task.connected or (agent_alive and not agent_alive())):
            if cloud.sms.show_task(task_id).state in done:  # it may have finished just before the agent ended
                return True
            raise AgentDisconnectedError(f"task {task_id} is {task.state} but the agent of its source is "
                                         "disconnected", service="sms", operation="show_task")
        return False

    task = wait_until(lambda: sms.show_task(task_id), reached, WaitPolicy(timeout, POLL_SECONDS),
                      what=f"SMS task {task_id}", cancel=cancel, service="sms")
    return cloud.sms.show_task(task_id) if task.state not in done else task


def _source_bytes(sms: Any, source_id: str) -> Any:
    """The source's byte counts for a progress figure, or None: a failed look-up never fails the wait."""
    try:
        return sms.show_source(source_id) if source_id else None
    except CloudError:
        return None


def start_migration(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event,
                    agent_alive: Callable[[], bool] | None = None,
                    on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    cloud = cloud_for(cloud_config)
    task = settled(cloud, task_id, cancel)
    if task.state in ("READY", "MIGRATE_FAIL", "ABORT"):
        cloud.sms.task_action(task_id, "start")
    task = _wait(cloud, task_id, ("MIGRATE_SUCCESS", "SYNCING", "SYNC_SUCCESS", "SYNC_FAIL"), ("MIGRATE_FAIL",),
                 cancel, agent_alive=agent_alive, on_progress=on_progress)
    source = cloud.sms.show_source(task.source_id)   # the byte counts are the source's (replicatesize/totalsize)
    return {"task_state": task.state, "replicated_bytes": source.replicated_bytes, "total_bytes": source.total_bytes}


def synchronize(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event,
                agent_alive: Callable[[], bool] | None = None,
                on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    cloud = cloud_for(cloud_config)
    task = settled(cloud, task_id, cancel)
    if task.state in ("MIGRATE_SUCCESS", "SYNC_SUCCESS", "SYNC_FAIL"):
        cloud.sms.task_action(task_id, "restart")
    task = _wait(cloud, task_id, ("SYNC_SUCCESS",), ("SYNC_FAIL", "MIGRATE_FAIL"), cancel, agent_alive=agent_alive,
                 on_progress=on_progress)
    return {"task_state": task.state}


class VerificationFailedError(CloudError):
    """The target differs from the source; `step_detail` carries the per-dir counts for the failed step."""

    def __init__(self, message: str, step_detail: dict[str, Any]) -> None:
        super().__init__(message, service="sms", operation="show_consistency_result")
        self.step_detail = step_detail


def verify(cloud_config: dict[str, Any], task_id: str) -> dict[str, Any]:
    results = cloud_for(cloud_config).sms.consistency_result(task_id)
    rows = consistency_rows(results)
    if not results:
        raise VerificationFailedError(f"task {task_id} has no consistency result: the agent did not verify the "
                                      "target; synchronize again, then retry", {"verification": {"clean": False,
                                                                                                  "results": []}})
    dirty = [r for r in results if not r.clean]
    if dirty:
        lines = ", ".join(f"{r.dir_check}: {r.different_files} different, {r.target_missing_files} missing, "
                          f"{r.target_extra_files} extra" for r in dirty)
        raise VerificationFailedError(f"the target differs from the source ({lines}); synchronize again, then "
                                      "retry", {"verification": {"clean": False, "results": rows}})
    return {"checked_dirs": [r.dir_check for r in results], "files": sum(r.total_files for r in results),
            "verification": {"clean": True, "results": rows}}


def consistency_rows(results: Any) -> list[dict[str, Any]]:
    """Per checked dir: total, different, missing (on the target), extra (on the target)."""
    return [{"dir": r.dir_check, "total": r.total_files, "different": r.different_files,
             "missing": r.target_missing_files, "extra": r.target_extra_files} for r in results]


def cutover(cloud_config: dict[str, Any], task_id: str, target_id: str, start_target: bool) -> dict[str, Any]:
    """Launch the target: action cutover (once: a replay finds it cutovering or cutovered), then wait until SMS
    reports the cycle cutovered."""
    cloud = cloud_for(cloud_config)
    task = cloud.sms.show_task(task_id)
    if task.migration_cycle not in ("cutovering", "cutovered"):
        cloud.sms.task_action(task_id, "cutover")
    until(lambda: cloud.sms.show_task(task_id).migration_cycle == "cutovered", f"task {task_id} still cutovering")
    server = cloud.ecs.show_server(target_id)
    if start_target and server.status == "SHUTOFF":
        cloud.ecs.start(target_id)
    elif not start_target and server.status == "ACTIVE":
        cloud.ecs.stop(target_id)
    else:
        return {"target_status": server.status}
    return {"target_status": cloud.ecs.show_server(target_id).status}


def clear_source(cloud_config: dict[str, Any], task_id: str) -> dict[str, Any]:
    cloud = cloud_for(cloud_config)
    task = cloud.sms.show_task(task_id)
    source = cloud.sms.show_source(task.source_id)
    if source.state not in ("clearing", "cleared"):
        try:
            cloud.sms.task_action(task_id, "clear")
        except CloudConflictError:
            if cloud.sms.show_source(task.source_id).state not in ("clearing", "cleared"):
                raise
    until(lambda: cloud.sms.show_source(task.source_id).state == "cleared", f"source {task.source_id} still clearing")
    return {"source_state": "cleared"}


