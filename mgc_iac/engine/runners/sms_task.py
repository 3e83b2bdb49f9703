"""The steps of a server's SMS task the engine runs on an existing task: an action on the task, then a wait.

    StartUpAgent         register_simulated_source (lab only) or the SSH agent (runners/agent.py); then the
                         provider's create (providers.migration_task.create_task_for)
    StartMigration       start_migration: action start, wait until MIGRATE_SUCCESS
    StartSynchronization synchronize: action restart (incremental), wait until SYNC_SUCCESS
    VerifyConsistency    verify: the task's latest consistency run must be clean
    Cutover              cutover: action cutover, wait through cutovering until cutovered, then start or stop
                         the target as the spec asks
    SourceClear          clear_source: action clear, wait through clearing until cleared (the agent stops)
    MigrationTaskClear   the provider's delete (providers.migration_task.delete_task)

Every wait goes through the apply's FleetReader (mgc_iac/cloud/_fleet.py): one paged ListTasks / ListServers read
at the workflow's `advanced.poll_interval` serves every waiting step (first after half of it, as Huawei's
Terraform provider: Delay 5 s, PollInterval 10 s). A step sent again after a stall or a `retry` (`restart`)
stops a copy SMS thinks runs and starts it again: the agent may never have got its START.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mgc_iac.errors import CloudError, CloudNotFoundError
from providers._cloud import cloud_for, lookup
from providers.migration_task import (
    COPYING,
    POLL_SECONDS,
    STARTABLE,
    act,
    fleet_of,
    known,
    settled,
    stop_copy,
)


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
    """A task's progress figures: the running subtask's percent, the byte counts of its source (a task's answer
    has none: ShowServer's / ListServers' replicatesize and totalsize, merged into the task by the fleet reader)."""
    running = [s for s in task.sub_tasks if 0 < s.progress < 100]
    total = int(getattr(source, "total_bytes", 0) or task.total_bytes or 0)
    done = int(getattr(source, "replicated_bytes", 0) or task.replicated_bytes or 0)
    percent = running[-1].progress if running else (min(100, done * 100 // total) if total else 0)
    return {"state": task.state, "percent": percent, "replicated_bytes": done, "total_bytes": total,
            "speed_mbps": float(task.migrate_speed_mbps or 0.0), "remain_seconds": int(task.remain_seconds or 0)}


def _wait(cloud: Any, fleet: Any, task_id: str, done: tuple[str, ...], failed: tuple[str, ...], interval: float,
          agent_alive: Callable[[], bool] | None = None,
          on_progress: Callable[[dict[str, Any]], None] | None = None) -> Any:
    """The task (from the fleet reader's reads) once in a `done` state; a `failed` state, a disconnected agent
    (its source's `connected` flag, then the task's own in one ShowTask, or `agent_alive()` answering False) or a
    vanished task raise. Intermediate states are waited through; `on_progress` gets every read's figures."""

    def reached(view: Any) -> bool:
        if view.gone:
            raise CloudNotFoundError(f"task {task_id} is gone from SMS (deleted outside mgc-iac?): apply again to "
                                     "create it", service="sms", operation="list_tasks")
        task = view.task
        if on_progress is not None:
            on_progress(task_progress(task))
        if task.state in done:
            return True
        if task.state in failed:
            raise CloudError(f"task {task_id} is {task.state}: {task.error or 'no detail'} (retry the step after "
                             "fixing the cause; after a source reboot, a full retry)", service="sms",
                             operation="list_tasks")
        if task.state in COPYING and (not task.connected or (agent_alive and not agent_alive())):
            fresh = cloud.sms.show_task(task_id)    # the list has no task-level flag: ask once
            if fresh.state in done:                 # it may have finished just before the agent ended
                return True
            if not fresh.connected or (agent_alive and not agent_alive()):
                raise AgentDisconnectedError(f"task {task_id} is {fresh.state} but the agent of its source is "
                                             "disconnected", service="sms", operation="show_task")
        return False

    return fleet.wait(task_id, reached, interval=interval, what=f"SMS task {task_id}").task


def start_migration(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event,
                    agent_alive: Callable[[], bool] | None = None,
                    on_progress: Callable[[dict[str, Any]], None] | None = None, *, fleet: Any = None,
                    interval: float = POLL_SECONDS, restart: bool = False) -> dict[str, Any]:
    """Action start (unless the task copies or is done), then wait until MIGRATE_SUCCESS. `restart`: a copy SMS
    thinks runs is stopped first (the safe point after a stall: the agent may never have got its START)."""
    cloud = cloud_for(cloud_config)
    fleet = fleet_of(cloud, fleet)
    task = settled(cloud, fleet, task_id, known(cloud, fleet, task_id, interval), interval)
    if restart and task.state in COPYING:
        task = stop_copy(cloud, fleet, task_id, interval)
    if task.state in STARTABLE:
        act(cloud, fleet, task_id, "start", lambda t: t.state not in STARTABLE)
    task = _wait(cloud, fleet, task_id, ("MIGRATE_SUCCESS", "SYNCING", "SYNC_SUCCESS", "SYNC_FAIL"),
                 ("MIGRATE_FAIL",), interval, agent_alive, on_progress)
    # the byte counts are the source's (replicatesize/totalsize), merged into the listed task by the reader
    return {"task_state": task.state, "replicated_bytes": task.replicated_bytes, "total_bytes": task.total_bytes}


def synchronize(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event,
                agent_alive: Callable[[], bool] | None = None,
                on_progress: Callable[[dict[str, Any]], None] | None = None, *, fleet: Any = None,
                interval: float = POLL_SECONDS, restart: bool = False) -> dict[str, Any]:
    """Action restart (incremental sync) from a replicated task, then wait until SYNC_SUCCESS. After a stall
    (`restart`) the copy is stopped first and restarted from ABORT, which copies again whatever changed."""
    cloud = cloud_for(cloud_config)
    fleet = fleet_of(cloud, fleet)
    task = settled(cloud, fleet, task_id, known(cloud, fleet, task_id, interval), interval)
    done: tuple[str, ...] = ("SYNC_SUCCESS",)
    if restart and task.state in COPYING:
        task = stop_copy(cloud, fleet, task_id, interval)
    if task.state in ("MIGRATE_SUCCESS", "SYNC_SUCCESS", "SYNC_FAIL", "ABORT", "MIGRATE_FAIL"):
        if task.state in ("ABORT", "MIGRATE_FAIL"):
            done = ("SYNC_SUCCESS", "MIGRATE_SUCCESS")   # restarted from a stop: a copy of what changed
        before = task.state
        act(cloud, fleet, task_id, "restart", lambda t: t.state != before or t.state in COPYING)
    task = _wait(cloud, fleet, task_id, done, ("SYNC_FAIL", "MIGRATE_FAIL"), interval, agent_alive, on_progress)
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


def cutover(cloud_config: dict[str, Any], task_id: str, target_id: str, start_target: bool, *, fleet: Any = None,
            interval: float = POLL_SECONDS) -> dict[str, Any]:
    """Launch the target: action cutover (once: a replay finds it cutovering or cutovered), then wait until SMS
    reports the cycle cutovered."""
    cloud = cloud_for(cloud_config)
    fleet = fleet_of(cloud, fleet)
    task = known(cloud, fleet, task_id, interval, need_cycle=True)
    if task.migration_cycle not in ("cutovering", "cutovered"):
        act(cloud, fleet, task_id, "cutover", lambda t: t.migration_cycle in ("cutovering", "cutovered"))
    fleet.wait(task_id, lambda v: _present(v, task_id).migration_cycle == "cutovered", interval=interval,
               what=f"SMS task {task_id} cutovering")
    server = cloud.ecs.show_server(target_id)
    if start_target and server.status == "SHUTOFF":
        cloud.ecs.start(target_id)
    elif not start_target and server.status == "ACTIVE":
        cloud.ecs.stop(target_id)
    else:
        return {"target_status": server.status}
    return {"target_status": cloud.ecs.show_server(target_id).status}


def _present(view: Any, task_id: str) -> Any:
    if view.gone:
        raise CloudNotFoundError(f"task {task_id} is gone from SMS", service="sms", operation="list_tasks")
    return view.task


def clear_source(cloud_config: dict[str, Any], task_id: str, *, fleet: Any = None,
                 interval: float = POLL_SECONDS) -> dict[str, Any]:
    """Action clear (SMS tells the agent CLEAR), then wait until the source is cleared."""
    cloud = cloud_for(cloud_config)
    fleet = fleet_of(cloud, fleet)
    seen = fleet.latest(task_id, max_age=interval)
    if seen is not None and seen.source is not None:
        state = seen.source.state
    else:
        state = cloud.sms.show_source(cloud.sms.show_task(task_id).source_id).state
    if state not in ("clearing", "cleared"):
        act(cloud, fleet, task_id, "clear",
             lambda t: cloud.sms.show_source(t.source_id).state in ("clearing", "cleared"))
    fleet.wait(task_id, lambda v: _present(v, task_id) is not None and v.source is not None
               and v.source.state == "cleared", interval=interval, what=f"source of SMS task {task_id} clearing")
    return {"source_state": "cleared"}
