"""The steps of a server's SMS task the engine runs on an existing task: an action on the task, then a wait.

    StartUpAgent         register_simulated_source (lab only) or the SSH agent (runners/agent.py); then the
                         provider's create (providers/migration_task.py)
    StartMigration       start_migration: action start, poll until the full copy has finished
    StartSynchronization synchronize: until synchronisation has converged (a round begun after the step
                         started has finished; action restart only for a task not syncing continuously)
    VerifyConsistency    verify: the task's latest consistency run must be clean
    Cutover              cutover: action cutover, wait through cutovering until the source is finished (error
                         fails at once), then start or stop the target as the spec asks
    SourceClear          clear_source: action clear, wait through clearing until cleared (clearfailed or error
                         fail at once; the agent stops)
    MigrationTaskClear   the provider's delete (providers.migration_task.delete_task): a plain DELETE whenever
                         SMS accepts one

What each state means for each step is mgc_iac.cloud.sms_states; a state it does not know fails the step
naming it (never polled until the deadline).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import providers.migration_task as task_provider
from mgc_iac.cloud.endpoint import cloud_for
from mgc_iac.cloud.lookups import lookup
from mgc_iac.errors import CloudConflictError, CloudError
from providers.migration_task import settled


def register_simulated_source(cloud_config: dict[str, Any], source: dict[str, Any]) -> str:
    """The lab's simulated agent: register the source through the SMS register API (what the SMS-Agent does
    when it starts) so the task can be created. Only with the lab's `instant_transfers` setting, where a task
    completes without an agent copying data; real migrations start the agent over SSH."""
    from mgc_iac.cloud import LabControl, SourceFacts, partitioned_disk

    cloud = cloud_for(cloud_config)
    if cloud_config.get("provider") != "lab" or not lookup(
            cloud_config, "lab_settings", "", lambda: LabControl(cloud.settings).settings()).get("instant_transfers"):
        raise CloudError(f"source {source['name']} has no SSH access, and the lab's simulated agent needs the lab "
                         "setting instant_transfers (seed `lab: {instant_transfers: true}`); or give the source "
                         "`ssh:` access", service="sms", operation="register_server")
    gib = 1024 ** 3
    # what an SMS-Agent registers: each disk with its partition (the boot disk's mounted at /)
    disks = tuple(partitioned_disk(d["device"], int(d["size_gb"] * gib), int(d.get("used_gb", 0) * gib), boot=n == 0)
                  for n, d in enumerate(source["disks"]))
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


Reader = Callable[[Any], Any]     # Task -> sms_states.Reading


def _wait(cloud: Any, task_id: str, read: Reader, cancel: threading.Event | None, what: str,
          timeout: float | None = None, agent_alive: Callable[[], bool] | None = None,
          on_progress: Callable[[dict[str, Any]], None] | None = None) -> Any:
    """Poll ShowTask until `read(task)` (an mgc_iac.cloud.sms_states reader) says done; failed raises at once
    with the reason; a state SMS does not document raises UnknownStateError at once (never waited on); a copy
    whose agent is gone (the task's `connected` false, or `agent_alive()` false) raises AgentDisconnectedError.
    `on_progress` gets every poll's figures."""
    from mgc_iac.cloud import sms_states
    from mgc_iac.cloud.wait import WaitPolicy, single_attempt, wait_until

    sms = single_attempt(cloud.sms)  # transient poll failures are waited out by wait_until, until the deadline

    def reached(task: Any) -> bool:
        if on_progress is not None:
            on_progress(task_progress(task, _source_bytes(sms, task.source_id)))
        reading = read(task)
        if reading.done:
            return True
        if reading.failed:
            raise CloudError(f"{what}: {reading.reason} (retry the step after fixing the cause; after a source "
                             "reboot, a full retry)", service="sms", operation="show_task")
        if sms_states.copying(task) and (task.connected is False or (agent_alive and not agent_alive())):
            if read(cloud.sms.show_task(task_id)).done:  # it may have finished just before the agent ended
                return True
            raise AgentDisconnectedError(f"task {task_id} is {task.state} but the agent of its source is "
                                         "disconnected", service="sms", operation="show_task")
        return False

    policy = WaitPolicy(timeout or task_provider.TIMEOUT_SECONDS, task_provider.POLL_SECONDS)  # read per call
    return wait_until(lambda: sms.show_task(task_id), reached, policy,
                      what=f"{what} (SMS task {task_id})", cancel=cancel, service="sms")


def _source_bytes(sms: Any, source_id: str) -> Any:
    """The source's byte counts for a progress figure, or None: a failed look-up never fails the wait."""
    try:
        return sms.show_source(source_id) if source_id else None
    except CloudError:
        return None


def start_migration(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event,
                    agent_alive: Callable[[], bool] | None = None,
                    on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """StartMigration: action start (from READY, MIGRATE_FAIL or ABORT), then wait until the full copy has
    finished (MIGRATE_SUCCESS; with continuous synchronisation the task goes on SYNCING)."""
    from mgc_iac.cloud import sms_states

    cloud = cloud_for(cloud_config)
    task = settled(cloud, task_id, cancel)
    if task.state in ("READY", "MIGRATE_FAIL", "ABORT"):
        cloud.sms.task_action(task_id, "start")
    task = _wait(cloud, task_id, sms_states.migration, cancel, "StartMigration", agent_alive=agent_alive,
                 on_progress=on_progress)
    source = cloud.sms.show_source(task.source_id)   # the byte counts are the source's (replicatesize/totalsize)
    return {"task_state": task.state, "replicated_bytes": source.replicated_bytes, "total_bytes": source.total_bytes}


def synchronize(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event,
                agent_alive: Callable[[], bool] | None = None,
                on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """StartSynchronization: done when synchronisation has CONVERGED (mgc_iac.cloud.sms_states): a sync round
    that began after this step started has finished. A continuous task (SYNCING) runs its rounds by itself;
    a finished one (MIGRATE_SUCCESS, SYNC_SUCCESS, SYNC_FAIL), or one a target test paused (source stopped), is
    asked for a round with action restart."""
    from mgc_iac.cloud import sms_states

    cloud = cloud_for(cloud_config)
    task = settled(cloud, task_id, cancel)
    since = sms_states.sync_baseline(task)
    paused = task.state == "SYNCING" and task.source_state == "stopped"     # a test of the target paused it
    if paused or task.state in ("MIGRATE_SUCCESS", "SYNC_SUCCESS", "SYNC_FAIL", "SYNC_F_ROLLBACK_SUCCESS"):
        cloud.sms.task_action(task_id, "restart")
    task = _wait(cloud, task_id, lambda t: sms_states.synchronization(t, since), cancel, "StartSynchronization",
                 agent_alive=agent_alive, on_progress=on_progress)
    rounds = [s for s in task.sub_tasks if s.name.startswith("SYNC_")]
    return {"task_state": task.state, "converged_round_end_ms": max((s.end_ms for s in rounds), default=0)}


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


def cutover(cloud_config: dict[str, Any], task_id: str, target_id: str, start_target: bool,
            cancel: threading.Event | None = None) -> dict[str, Any]:
    """Launch the target: action cutover (once: a replay finds it cutovering or cutovered), then wait until the
    source is finished (cycle cutovered); a source in error fails at once. Then start or stop the target."""
    from mgc_iac.cloud import sms_states

    cloud = cloud_for(cloud_config)
    task = cloud.sms.show_task(task_id)
    if task.migration_cycle not in ("cutovering", "cutovered") and task.source_state not in (
            "finished", "error", "clearfailed"):     # a source in error: the wait below reports it at once
        cloud.sms.task_action(task_id, "cutover")
    _wait(cloud, task_id, sms_states.cutover, cancel, "Cutover")
    server = cloud.ecs.show_server(target_id)
    if start_target and server.status == "SHUTOFF":
        cloud.ecs.start(target_id)
    elif not start_target and server.status == "ACTIVE":
        cloud.ecs.stop(target_id)
    else:
        return {"target_status": server.status}
    return {"target_status": cloud.ecs.show_server(target_id).status}


def clear_source(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event | None = None) -> dict[str, Any]:
    """SourceClear: action clear, then wait until the source is cleared; clearfailed or error fail at once."""
    from mgc_iac.cloud import sms_states

    cloud = cloud_for(cloud_config)
    task = cloud.sms.show_task(task_id)
    if task.source_state not in ("clearing", "cleared", "clearfailed", "error"):
        try:
            cloud.sms.task_action(task_id, "clear")
        except CloudConflictError:
            if cloud.sms.show_task(task_id).source_state not in ("clearing", "cleared"):
                raise
    _wait(cloud, task_id, sms_states.clear, cancel, "SourceClear")
    return {"source_state": "cleared"}


