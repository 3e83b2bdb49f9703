"""The steps of a server's SMS task the engine runs on an existing task: an action on the task, then a wait.

    StartUpAgent         register_simulated_source (lab only) or the SSH agent (runners/agent.py); then the
                         provider's create (providers.migration_task.create_task_for)
    StartMigration       start_migration: action start, wait until the full copy has finished
    StartSynchronization synchronize: until synchronisation has converged (a round begun after the step
                         started has finished; action restart only for a task not syncing continuously)
    VerifyConsistency    verify: the task's latest consistency run must be clean
    Cutover              cutover: action cutover, wait through cutovering until the source is finished (error
                         fails at once), then start or stop the target as the spec asks
    SourceClear          clear_source: action clear, wait through clearing until cleared (clearfailed or error
                         fail at once; the agent stops)
    MigrationTaskClear   the provider's delete (mgc_iac.cloud.sms_tasks.delete_sms_task): a plain DELETE whenever
                         SMS accepts one

What each state means for each step is mgc_iac.cloud.sms_states; a state it does not know fails the step
naming it (never polled until the deadline). Every wait goes through the apply's FleetReader
(mgc_iac/cloud/_fleet.py): one paged ListTasks / ListServers read at the workflow's `advanced.poll_interval`
serves every waiting step (first after half of it, as Huawei's Terraform provider: Delay 5 s, PollInterval 10 s);
a ListTasks item carries what the readers need (state, source state, sub-task dates), its source's item the cycle,
the `connected` flag and the byte counts. A step sent again after a stall or a `retry` (`restart`) stops a copy
SMS thinks runs and starts it again: the agent may never have got its START.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mgc_iac.cloud import (
    cancel_scope,
    cloud_for,
    fleet_reader_for,
    lab_finishes_copies,
    latest_task,
    poll_every,
    send_task_action,
    settled_task,
    stop_task_copy,
)
from mgc_iac.errors import CloudError


def register_simulated_source(cloud_config: dict[str, Any], source: dict[str, Any]) -> str:
    """The lab's simulated agent: register the source through the SMS register API (what the SMS-Agent does
    when it starts) so the task can be created. Only with the lab's `instant_transfers` setting, where a task
    completes without an agent copying data; real migrations start the agent over SSH."""
    from mgc_iac.cloud import SourceFacts, partitioned_disk

    cloud = cloud_for(cloud_config)
    if cloud_config.get("provider") != "lab" or not lab_finishes_copies(cloud_config):
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
    """A task's progress figures: the running subtask's percent, the byte counts of its source (a task's answer
    has none: ShowServer's / ListServers' replicatesize and totalsize, merged into the task by the fleet reader)."""
    running = [s for s in task.sub_tasks if 0 < s.progress < 100]
    total = int(getattr(source, "total_bytes", 0) or task.total_bytes or 0)
    done = int(getattr(source, "replicated_bytes", 0) or task.replicated_bytes or 0)
    percent = running[-1].progress if running else (min(100, done * 100 // total) if total else 0)
    return {"state": task.state, "percent": percent, "replicated_bytes": done, "total_bytes": total,
            "speed_mbps": float(task.migrate_speed_mbps or 0.0), "remain_seconds": int(task.remain_seconds or 0)}


Reader = Callable[[Any], Any]     # Task -> sms_states.Reading


def _wait(cloud: Any, fleet: Any, task_id: str, read: Reader, what: str, interval: float,
          agent_alive: Callable[[], bool] | None = None,
          on_progress: Callable[[dict[str, Any]], None] | None = None) -> Any:
    """The task (from the fleet reader's list reads) once `read(task)` (an mgc_iac.cloud.sms_states reader) says
    done; failed raises at once with the reason; a state SMS does not document raises UnknownStateError at once;
    a copy whose agent is gone (its source's `connected` flag, then the task's own in one ShowTask, or
    `agent_alive()` false) raises AgentDisconnectedError; a vanished task raises. `on_progress` gets every read's
    figures."""
    from mgc_iac.cloud import sms_states
    from mgc_iac.errors import CloudNotFoundError

    def reached(view: Any) -> bool:
        if view.gone:
            raise CloudNotFoundError(f"{what}: task {task_id} is gone from SMS (deleted outside mgc-iac?): apply "
                                     "again to create it", service="sms", operation="list_tasks")
        task = view.task
        if on_progress is not None:
            on_progress(task_progress(task))
        reading = read(task)
        if reading.done:
            return True
        if reading.failed:
            raise CloudError(f"{what}: {reading.reason} (retry the step after fixing the cause; after a source "
                             "reboot, a full retry)", service="sms", operation="list_tasks")
        if sms_states.copying(task) and (task.connected is False or (agent_alive and not agent_alive())):
            fresh = cloud.sms.show_task(task_id)      # the list has no task-level flag: ask the task once
            if read(fresh).done:                      # it may have finished just before the agent ended
                return True
            if fresh.connected is False or (agent_alive and not agent_alive()):
                raise AgentDisconnectedError(f"task {task_id} is {fresh.state} but the agent of its source is "
                                             "disconnected", service="sms", operation="show_task")
        return False

    return fleet.wait(task_id, reached, interval=interval, what=f"{what} (SMS task {task_id})").task


def _start_migration(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event,
                    agent_alive: Callable[[], bool] | None = None,
                    on_progress: Callable[[dict[str, Any]], None] | None = None, *, fleet: Any = None,
                    interval: float | None = None, restart: bool = False) -> dict[str, Any]:
    """StartMigration: action start (from READY, MIGRATE_FAIL or ABORT), then wait until the full copy has
    finished (MIGRATE_SUCCESS; with continuous synchronisation the task goes on SYNCING). `restart` (after a stall
    or a `retry`): a copy SMS thinks runs is stopped first, so the agent gets a START again."""
    from mgc_iac.cloud import sms_states

    cloud = cloud_for(cloud_config)
    fleet = fleet_reader_for(cloud, fleet)
    task = settled_task(cloud, fleet, task_id, latest_task(cloud, fleet, task_id, interval), interval)
    if restart and task.state == "RUNNING":
        task = stop_task_copy(cloud, fleet, task_id, interval)
    if task.state in ("READY", "MIGRATE_FAIL", "ABORT"):
        send_task_action(cloud, fleet, task_id, "start", lambda t: t.state not in ("READY", "MIGRATE_FAIL", "ABORT"))
    task = _wait(cloud, fleet, task_id, sms_states.migration, "StartMigration", interval, agent_alive, on_progress)
    # the byte counts are the source's (replicatesize/totalsize), merged into the listed task by the reader
    return {"task_state": task.state, "replicated_bytes": task.replicated_bytes, "total_bytes": task.total_bytes}


def _synchronize(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event,
                agent_alive: Callable[[], bool] | None = None,
                on_progress: Callable[[dict[str, Any]], None] | None = None, *, fleet: Any = None,
                interval: float | None = None, restart: bool = False) -> dict[str, Any]:
    """StartSynchronization: done when synchronisation has CONVERGED (mgc_iac.cloud.sms_states): a sync round
    that began after this step started has finished. A continuous task (SYNCING) runs its rounds by itself;
    a finished one (MIGRATE_SUCCESS, SYNC_SUCCESS, SYNC_FAIL), or one a target test paused (source stopped), is
    asked for a round with action restart. `restart` (after a stall or a `retry`): a round SMS thinks runs is
    stopped first and the task restarted."""
    from mgc_iac.cloud import sms_states

    cloud = cloud_for(cloud_config)
    fleet = fleet_reader_for(cloud, fleet)
    # read now, not from the fleet's last read: the baseline must be the rounds SMS had begun when the step began
    task = settled_task(cloud, fleet, task_id, cloud.sms.show_task(task_id), interval)
    if restart and task.state == "SYNCING" and task.source_state != "stopped":
        task = stop_task_copy(cloud, fleet, task_id, interval)
    if task.state in ("ABORT", "MIGRATE_FAIL"):      # paused or failed mid-copy: the copy resumes first
        send_task_action(cloud, fleet, task_id, "restart", lambda t: t.state not in ("ABORT", "MIGRATE_FAIL"))
        _wait(cloud, fleet, task_id, sms_states.migration, "StartSynchronization", interval, agent_alive, on_progress)
        task = cloud.sms.show_task(task_id)
    since = sms_states.sync_baseline(task)
    paused = task.state == "SYNCING" and task.source_state == "stopped"     # a test of the target paused it
    if paused or task.state in ("MIGRATE_SUCCESS", "SYNC_SUCCESS", "SYNC_FAIL", "SYNC_F_ROLLBACK_SUCCESS"):
        before = (task.state, task.source_state, since)
        send_task_action(cloud, fleet, task_id, "restart",
            lambda t: (t.state, t.source_state, sms_states.sync_baseline(t)) != before)
    task = _wait(cloud, fleet, task_id, lambda t: sms_states.synchronization(t, since), "StartSynchronization",
                 interval, agent_alive, on_progress)
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
    empty = [r.dir_check for r in results if r.nothing_compared]
    if len(empty) == len(results):
        raise VerificationFailedError(f"nothing compared: the verification compared 0 files ({', '.join(empty)}); "
                                      "check that the include paths exist on the source and hold files, then retry",
                                      {"verification": {"clean": False, "results": rows}})
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


def _cutover(cloud_config: dict[str, Any], task_id: str, target_id: str, start_target: bool,
            cancel: threading.Event | None = None, *, fleet: Any = None, interval: float | None = None
            ) -> dict[str, Any]:
    """Launch the target: action cutover (once: a replay finds it cutovering or cutovered), then wait until the
    source is finished (cycle cutovered); a source in error fails at once. Then start or stop the target."""
    from mgc_iac.cloud import sms_states

    cloud = cloud_for(cloud_config)
    fleet = fleet_reader_for(cloud, fleet)
    task = latest_task(cloud, fleet, task_id, interval, need_source=True)
    if task.migration_cycle not in ("cutovering", "cutovered") and task.source_state not in (
            "finished", "error", "clearfailed"):     # a source in error: the wait below reports it at once
        send_task_action(cloud, fleet, task_id, "cutover",
            lambda t: t.migration_cycle in ("cutovering", "cutovered") or t.source_state in ("cutovering", "finished"))
    _wait(cloud, fleet, task_id, sms_states.cutover, "Cutover", interval)
    server = cloud.ecs.show_server(target_id)
    if start_target and server.status == "SHUTOFF":
        cloud.ecs.start(target_id)
    elif not start_target and server.status == "ACTIVE":
        cloud.ecs.stop(target_id)
    else:
        return {"target_status": server.status}
    return {"target_status": cloud.ecs.show_server(target_id).status}


def _clear_source(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event | None = None, *,
                 fleet: Any = None, interval: float | None = None) -> dict[str, Any]:
    """SourceClear: action clear, then wait until the source is cleared; clearfailed or error fail at once."""
    from mgc_iac.cloud import sms_states

    cloud = cloud_for(cloud_config)
    fleet = fleet_reader_for(cloud, fleet)
    task = latest_task(cloud, fleet, task_id, interval, need_source=True)
    if task.source_state not in ("clearing", "cleared", "clearfailed", "error"):
        send_task_action(cloud, fleet, task_id, "clear", lambda t: t.source_state in ("clearing", "cleared"))
    _wait(cloud, fleet, task_id, sms_states.clear, "SourceClear", interval)
    return {"source_state": "cleared"}


# ---- the steps as the runner calls them: the interval resolved now, `cancel` ending waits outside the engine ----

def start_migration(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event | None = None,
                    agent_alive: Callable[[], bool] | None = None,
                    on_progress: Callable[[dict[str, Any]], None] | None = None, *, fleet: Any = None,
                    interval: float | None = None, restart: bool = False) -> dict[str, Any]:
    with cancel_scope(cancel):
        return _start_migration(cloud_config, task_id, cancel, agent_alive, on_progress, fleet=fleet,
                                interval=poll_every(interval), restart=restart)


def synchronize(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event | None = None,
                agent_alive: Callable[[], bool] | None = None,
                on_progress: Callable[[dict[str, Any]], None] | None = None, *, fleet: Any = None,
                interval: float | None = None, restart: bool = False) -> dict[str, Any]:
    with cancel_scope(cancel):
        return _synchronize(cloud_config, task_id, cancel, agent_alive, on_progress, fleet=fleet,
                            interval=poll_every(interval), restart=restart)


def cutover(cloud_config: dict[str, Any], task_id: str, target_id: str, start_target: bool,
            cancel: threading.Event | None = None, *, fleet: Any = None, interval: float | None = None
            ) -> dict[str, Any]:
    with cancel_scope(cancel):
        return _cutover(cloud_config, task_id, target_id, start_target, cancel, fleet=fleet,
                        interval=poll_every(interval))


def clear_source(cloud_config: dict[str, Any], task_id: str, cancel: threading.Event | None = None, *,
                 fleet: Any = None, interval: float | None = None) -> dict[str, Any]:
    with cancel_scope(cancel):
        return _clear_source(cloud_config, task_id, cancel, fleet=fleet, interval=poll_every(interval))
