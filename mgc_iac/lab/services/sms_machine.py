"""The lab's SMS state machine: what each UpdateTaskStatus operation does in which state, the asynchronous
transitions, continuous synchronisation, DeleteTask's rule and the injected source failures.

Sources (each rule below names its own):
- states: SDK 3.1.219 docstrings ListTasksRequest.state / ShowTaskResponse.state (task), ShowServerResponse.state
  and .migration_cycle (source); operations: UpdateTaskStatusReq.operation (start, stop, restart, test,
  clone_test, network_check, skip, clear, migration_test; cutover where a region documents it);
- refusal codes: Huawei's SMS error-code table (support.huaweicloud.com/en-us/api-sms/sms_api_0047.html):
  SMS.1038 (only running tasks can be paused), SMS.1039 (only paused tasks can be resumed), SMS.1040 (only
  failed tasks can be restarted), SMS.2015 (in-progress or stopping tasks cannot be deleted);
- continuous synchronisation: PostTask.syncing ("after the copy or a sync, whether it goes on synchronising
  continuously"; default false): the task stays SYNCING after the full copy and copies changes in rounds;
- DeleteTask: allowed when the agent is disconnected, or the task is verification-failed, ready, finished,
  error or paused (SMS API reference, DeleteTask; the Terraform provider deletes with a plain DELETE); never
  while a connected source is `cloning` (DeleteTask's Constraints list cloning among the refused source states).

`test` launches the target and pauses the synchronisation (source stopped, no continuous round) until
`restart`; `clone_test` makes a server of its own from the target while the source waits in `cloning`
(mgc_iac/engine/runners/test_launch.py cites the sources of both).

Task documents carry `pending` ({at, to, ...}): one asynchronous transition finishing `transition_seconds`
later (or, for the next continuous round, `sync_interval_seconds` later), settled when anyone reads the task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mgc_iac.lab.context import LabContext, LabError, bad_request

ACTIVE = ("RUNNING", "SYNCING", "ABORTING", "SKIPPING")
REPLICATED = ("MIGRATE_SUCCESS", "SYNC_SUCCESS")
# DeleteTask's rule: ready, finished, error, paused (task states) / verification-failed, finished, error,
# paused (source states); or the agent disconnected
DELETABLE = ("READY", "MIGRATE_SUCCESS", "SYNC_SUCCESS", "MIGRATE_FAIL", "SYNC_FAIL", "SYNC_F_ROLLBACK_SUCCESS",
             "ABORT")
DELETABLE_SOURCE = ("unavailable", "finished", "error", "stopped", "cleared", "clearfailed")
FAULT_POINTS = ("now", "cutover", "clear", "clone")


def ms(ts: float) -> int:
    return int(ts * 1000)


def refused(code: str, message: str) -> LabError:
    return LabError(400, code, message)


# ---- the task's source ---------------------------------------------------------------------------------------

def source_of(lab: LabContext, task: dict[str, Any]) -> dict[str, Any] | None:
    return lab.store.get("sms_source", task["source_server"]["id"])


def set_source(lab: LabContext, task: dict[str, Any], state: str | None = None, cycle: str | None = None) -> None:
    source = source_of(lab, task)
    if source is not None:
        if state:
            source["state"] = state
            source["state_action_time"] = ms(lab.clock())
        if cycle:
            source["migration_cycle"] = cycle
        lab.store.put("sms_source", source)


def queue(lab: LabContext, task: dict[str, Any], command: str) -> None:
    source = source_of(lab, task)
    if source is not None:
        source["commands"].append({"command_name": command, "command_param": {"task_id": task["id"]}})
        lab.store.put("sms_source", source)


def cycle_of(lab: LabContext, task: dict[str, Any]) -> str:
    return str((source_of(lab, task) or {}).get("migration_cycle") or "")


def connected(lab: LabContext, source: dict[str, Any]) -> bool:
    if source.get("agent_version") == "lab-simulated":   # instant_transfers' simulated agent never polls
        return True
    return lab.clock() - source.get("last_seen", 0.0) < lab.agent_timeout()


def _fault(lab: LabContext, task: dict[str, Any], point: str) -> bool:
    """Whether a failure was injected at `point` for this task's source (POST /_lab/sms/fail); used once."""
    source = source_of(lab, task)
    if source is None or source.get("fail_at") != point:
        return False
    source["fail_at"] = ""
    lab.store.put("sms_source", source)
    return True


# ---- asynchronous transitions ------------------------------------------------------------------------------

def later(lab: LabContext, task: dict[str, Any], to: str, seconds: float | None = None, **extra: Any) -> None:
    wait = lab.transition_seconds() if seconds is None else seconds
    task["pending"] = {"at": lab.clock() + wait, "to": to, **extra}
    lab.store.put("sms_task", task)
    if to != "ROUND":                 # a round begins on a later read, never inside the one that ended the last
        settle(lab, task)


def settle(lab: LabContext, task: dict[str, Any]) -> dict[str, Any] | None:
    """Finish a pending transition whose time has come; None when that deleted the task."""
    pending = task.get("pending")
    if not pending or lab.clock() < pending["at"]:
        return task
    task["pending"] = None
    outcome = _SETTLE[pending["to"]](lab, task, pending)
    if outcome is None:
        return None
    lab.store.put("sms_task", task)
    return task


def _aborted(lab: LabContext, task: dict[str, Any], _pending: dict[str, Any]) -> dict[str, Any]:
    task["state"] = "ABORT"
    set_source(lab, task, state="stopped")
    return task


def _skipped(lab: LabContext, task: dict[str, Any], _pending: dict[str, Any]) -> dict[str, Any]:
    finish(lab, task, "SYNC")         # the round is skipped: continuous sync goes on, a single sync ends
    return task


def _cutovered(lab: LabContext, task: dict[str, Any], _pending: dict[str, Any]) -> dict[str, Any]:
    if _fault(lab, task, "cutover"):
        task["error_json"] = "lab fault: the target failed to launch (injected at cutover)"
        set_source(lab, task, state="error")
        return task
    if task["state"] == "SYNCING":    # continuous synchronisation ends with the launch
        task["state"] = "MIGRATE_SUCCESS"
    set_source(lab, task, state="finished", cycle="cutovered")
    return task


def _cleared(lab: LabContext, task: dict[str, Any], _pending: dict[str, Any]) -> dict[str, Any]:
    if _fault(lab, task, "clear"):
        task["error_json"] = "lab fault: clearing the migration resources failed (injected at clear)"
        set_source(lab, task, state="clearfailed")
        return task
    set_source(lab, task, state="cleared")
    return task


def _deleted(lab: LabContext, task: dict[str, Any], pending: dict[str, Any]) -> None:
    lab.store.delete("sms_task", task["id"])
    source = source_of(lab, task)
    if source is not None and source.get("current_task") == task["id"]:
        source.update(current_task="", state=pending.get("source_state") or "waiting")
        lab.store.put("sms_source", source)
    return None


def _next_round(lab: LabContext, task: dict[str, Any], _pending: dict[str, Any]) -> dict[str, Any]:
    # no round while the target is under test (the sync is paused until `restart`) or being launched
    if task["state"] == "SYNCING" and not task.get("tested") and cycle_of(lab, task) not in ("cutovering",
                                                                                              "cutovered"):
        run(lab, task, "SYNC")
    return task


def _cloned(lab: LabContext, task: dict[str, Any], pending: dict[str, Any]) -> dict[str, Any]:
    if _fault(lab, task, "clone"):   # CloneServer.clone_state ERROR with clone_error; its server stays in ECS
        task["clone_server"] = {**task["clone_server"], "clone_state": "ERROR",
                                "clone_error": "lab fault: the clone failed (injected at clone)"}
    else:
        task["clone_server"] = {**task["clone_server"], "clone_state": "FINISHED"}
    set_source(lab, task, state=pending.get("source_state") or "syncing")   # back to its synchronisation
    return task


def _transferred(lab: LabContext, task: dict[str, Any], pending: dict[str, Any]) -> dict[str, Any]:
    _instant(lab, task, pending["phase"])   # lab only: a simulated copy that ran `transfer_seconds`
    return task


_SETTLE: dict[str, Callable[[LabContext, dict[str, Any], dict[str, Any]], dict[str, Any] | None]] = {
    "ABORT": _aborted, "SKIPPED": _skipped, "cutovered": _cutovered, "cleared": _cleared, "DELETED": _deleted,
    "ROUND": _next_round, "cloned": _cloned, "TRANSFERRED": _transferred,
}


# ---- the copy phases ----------------------------------------------------------------------------------------

def subtask(task: dict[str, Any], name: str, progress: int, now: int, speed: float = 0.0,
            new_round: bool = False) -> None:
    """Progress of the sub-task `name`; `new_round` starts it again (a continuous sync round reuses it)."""
    for sub in task["sub_tasks"]:
        if sub["name"] == name:
            break
    else:
        sub = {"id": len(task["sub_tasks"]) + 1, "name": name, "progress": 0, "start_date": now, "end_date": 0,
               "migrate_speed": 0.0}
        task["sub_tasks"].append(sub)
    if new_round:
        sub.update(start_date=now, end_date=0)
    sub["progress"] = progress
    sub["migrate_speed"] = speed
    if progress >= 100:
        sub["end_date"] = now


def finish(lab: LabContext, task: dict[str, Any], phase: str) -> None:
    """A full copy (MIGRATE) or a sync round (SYNC) is complete. With continuous synchronisation the task stays
    SYNCING and the next round begins `sync_interval_seconds` later; without, it ends MIGRATE/SYNC_SUCCESS."""
    task["finish_date"] = ms(lab.clock())
    task["remain_seconds"] = 0
    task["migrate_speed"] = 0.0
    if cycle_of(lab, task) in ("cutovering", "cutovered"):
        return                        # a round that ends during the launch: the cutover decides what comes next
    set_source(lab, task, state="syncing", cycle="syncing")   # replicated: ready to sync or to cut over
    if task["syncing"]:
        task["state"] = "SYNCING"
        later(lab, task, "ROUND", lab.sync_interval())
        return
    task["state"] = f"{phase}_SUCCESS"


def _instant(lab: LabContext, task: dict[str, Any], phase: str) -> None:
    suffix = "WINDOWS_BLOCK" if task["os_type"] == "WINDOWS" else "LINUX_FILE"
    subtask(task, f"{phase}_{suffix}", 100, ms(lab.clock()), new_round=True)
    source = source_of(lab, task)
    if source is not None:
        source["replicatesize"] = source["totalsize"]
        lab.store.put("sms_source", source)
    # no file moves in this simulation: it counts each source disk as one compared item, so a simulated run is
    # clean (0 files compared reads "nothing compared", never clean); a copy by the agent posts real counts
    disks = max(1, len((source or {}).get("disks") or ()))
    task["result_list"] = [{"finished_time": ms(lab.clock()), "check_result": "success", "consistency_result": [
        {"dir_check": "/", "num_total_files": disks, "num_different_files": 0, "num_target_miss_files": 0,
         "num_target_more_files": 0}]}]
    finish(lab, task, phase)


def run(lab: LabContext, task: dict[str, Any], phase: str) -> None:
    """Begin the full copy (MIGRATE: command START) or a sync round (SYNC: command SYNC)."""
    task["state"] = "RUNNING" if phase == "MIGRATE" else "SYNCING"
    task["start_date"] = ms(lab.clock())
    task["error_json"] = ""
    set_source(lab, task, state="replicate" if phase == "MIGRATE" else "syncing",
               cycle="replicating" if phase == "MIGRATE" else "syncing")
    if lab.instant_transfers() and lab.transfer_seconds() > 0:
        # lab only: the simulated copy runs `transfer_seconds` (RUNNING / SYNCING), then finishes as instantly
        task["pending"] = {"at": lab.clock() + lab.transfer_seconds(), "to": "TRANSFERRED", "phase": phase}
        return
    if lab.instant_transfers():
        _instant(lab, task, phase)
        return
    if phase == "SYNC":               # the round's sub-task starts again: its start_date dates the round
        suffix = "WINDOWS_BLOCK" if task["os_type"] == "WINDOWS" else "LINUX_FILE"
        subtask(task, f"SYNC_{suffix}", 0, ms(lab.clock()), new_round=True)
    queue(lab, task, "START" if phase == "MIGRATE" else "SYNC")


def progress(lab: LabContext, task: dict[str, Any], name: str, percent: int, speed: float) -> None:
    """PUT progress from the agent: a MIGRATE_* at 100 ends the full copy, a SYNC_* at 100 the round."""
    if task["state"] not in ("RUNNING", "SYNCING"):
        raise refused("SMS.1038", f"task {task['id']} is {task['state']}: no copy is running")
    subtask(task, name, percent, ms(lab.clock()), speed)
    task["migrate_speed"] = speed
    if percent == 100 and task["state"] == "RUNNING" and name.startswith("MIGRATE_"):
        finish(lab, task, "MIGRATE")
    elif percent == 100 and task["state"] == "SYNCING" and name.startswith("SYNC_"):
        finish(lab, task, "SYNC")


def agent_failed(lab: LabContext, task: dict[str, Any], detail: str) -> None:
    """A command result `fail` while copying: the phase fails and the source goes to error."""
    if task["state"] in ("RUNNING", "SYNCING"):
        task["state"] = "MIGRATE_FAIL" if task["state"] == "RUNNING" else "SYNC_FAIL"
        task["error_json"] = detail
        task["pending"] = None
        set_source(lab, task, state="error")


def inject(lab: LabContext, task: dict[str, Any], source: dict[str, Any], point: str) -> None:
    """POST /_lab/sms/fail: `now` puts the source in state error (a copying task fails); `cutover` / `clear`
    make the next cutover end in source state error / the next clear in clearfailed; `clone` the next clone_test
    end in clone_state ERROR."""
    if point not in FAULT_POINTS:
        raise bad_request("LAB.0003", f"at must be one of {', '.join(FAULT_POINTS)}")
    if point != "now":
        source["fail_at"] = point
        lab.store.put("sms_source", source)
        return
    agent_failed(lab, task, "lab fault: the source failed (injected)")
    task["error_json"] = task["error_json"] or "lab fault: the source failed (injected)"
    set_source(lab, task, state="error")


# ---- UpdateTaskStatus: one row per operation -------------------------------------------------------------------

def _replicated(lab: LabContext, task: dict[str, Any]) -> bool:
    """The full copy is done and the target can be launched: MIGRATE/SYNC_SUCCESS, or continuous sync going on."""
    past_copy = any(s["name"].startswith("MIGRATE_") and s["progress"] >= 100 for s in task["sub_tasks"])
    return task["state"] in REPLICATED or (task["state"] == "SYNCING" and task["syncing"] and past_copy)


def _cut_over(lab: LabContext, task: dict[str, Any]) -> bool:
    return cycle_of(lab, task) in ("cutovering", "cutovered")


Body = dict[str, Any]


def _start(lab: LabContext, task: dict[str, Any], _body: Body) -> None:
    run(lab, task, "MIGRATE")


def _restart(lab: LabContext, task: dict[str, Any], _body: Body) -> None:
    task.pop("tested", None)          # a test of the target ends when its synchronisation resumes
    run(lab, task, "MIGRATE" if task["state"] in ("MIGRATE_FAIL", "ABORT") else "SYNC")


def _stop(lab: LabContext, task: dict[str, Any], _body: Body) -> None:
    task["state"] = "ABORTING"
    set_source(lab, task, state="stopping")
    queue(lab, task, "STOP")
    later(lab, task, "ABORT")


def _skip(lab: LabContext, task: dict[str, Any], _body: Body) -> None:
    task["state"] = "SKIPPING"
    set_source(lab, task, state="skipping")
    queue(lab, task, "SKIP")
    later(lab, task, "SKIPPED")


def _cutover(lab: LabContext, task: dict[str, Any], _body: Body) -> None:
    set_source(lab, task, state="cutovering", cycle="cutovering")
    later(lab, task, "cutovered")     # replaces a pending continuous round: the rounds end here


def _clear(lab: LabContext, task: dict[str, Any], _body: Body) -> None:
    set_source(lab, task, state="clearing")
    queue(lab, task, "CLEAR")
    later(lab, task, "cleared")


def _test(lab: LabContext, task: dict[str, Any], _body: Body) -> None:
    """The target is launched for a test and the synchronisation pauses (source stopped) until `restart`
    (mgc_iac/engine/runners/test_launch.py cites the sources)."""
    task["tested"] = True
    set_source(lab, task, state="stopped")
    target = lab.store.get("ecs_server", task["target_server"]["vm_id"])
    if target is not None and target["status"] == "SHUTOFF":
        target["status"] = "ACTIVE"
        lab.store.put("ecs_server", target)


def _clone_test(lab: LabContext, task: dict[str, Any], body: Body) -> None:
    """clone_test (mgc_iac/engine/runners/test_launch.py cites the sources): a server of its own from the target's
    disks, made while the source waits in `cloning`; FINISHED after the transition time, the source back in sync.
    `template_id` (UpdateTaskStatusReq) is optional in the API: without it the clone takes the target's own
    flavor and network (the lab has no server templates: a template id given is recorded, not applied). Its lab
    host is asked for once the transaction committed (sms.py, mgc_iac.lab.host_requests)."""
    from mgc_iac.lab.services.ecs import clone_server

    old = task.get("clone_server")
    if old and old.get("clone_state") != "ERROR" and lab.store.get("ecs_server", old["vm_id"]) is not None:
        raise refused("SMS.1038", f"task {task['id']} has a clone already ({old['name']}): delete it first")
    target = lab.store.get("ecs_server", task["target_server"]["vm_id"])
    if target is None:
        raise refused("SMS.1038", f"task {task['id']}: its target server no longer exists")
    clone = clone_server(lab, target, f"{target['name']}-clone")
    task["clone_server"] = {"vm_id": clone["id"], "name": clone["name"], "clone_state": "CREATING",
                            "clone_error": "", "error_msg": ""}
    task["clone_template_id"] = body.get("template_id") or ""
    before = (source_of(lab, task) or {}).get("state") or "syncing"
    set_source(lab, task, state="cloning")
    later(lab, task, "cloned", source_state=before)


def _network_check(lab: LabContext, task: dict[str, Any], _body: Body) -> None:
    task["network_check_info"] = {"domain_connectivity": True, "destination_connectivity": True,
                                  "evaluation_result": "success", "migration_speed": 100.0}


def _migration_test(lab: LabContext, task: dict[str, Any], _body: Body) -> None:
    task["need_migration_test"] = True


def _overspeed(lab: LabContext, task: dict[str, Any], _body: Body) -> None:
    task["error_json"] = "the migration speed exceeded the threshold (over_speed_threshold)"


@dataclass(frozen=True)
class Operation:
    """An UpdateTaskStatus operation: accepted when `allowed(lab, task)`, else refused with `code`; the effect
    may refuse finer cases itself."""

    name: str
    allowed: Callable[[LabContext, dict[str, Any]], bool]
    code: str
    refusal: str                      # why it is refused, after "task <id> is <state> (<cycle>): "
    effect: Callable[[LabContext, dict[str, Any], Body], None]


OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    Operation("start", lambda lab, t: t["state"] in ("READY", "MIGRATE_FAIL", "ABORT") and not _cut_over(lab, t),
              "SMS.1039", "only a ready, failed or paused task starts, and not after a cutover", _start),
    Operation("restart", lambda lab, t: (t["state"] in ("MIGRATE_FAIL", "ABORT", *REPLICATED, "SYNC_FAIL",
                                                         "SYNC_F_ROLLBACK_SUCCESS")
                                         or (t["state"] == "SYNCING" and bool(t.get("tested"))))
              and not _cut_over(lab, t), "SMS.1040", "it cannot be restarted now", _restart),
    Operation("stop", lambda lab, t: t["state"] in ("RUNNING", "SYNCING"), "SMS.1038",
              "only a running task can be paused", _stop),
    Operation("skip", lambda lab, t: t["state"] == "SYNCING", "SMS.1038", "only a syncing task can skip", _skip),
    Operation("cutover", lambda lab, t: _replicated(lab, t) and not _cut_over(lab, t), "SMS.1038",
              "only a replicated task can be cut over, once", _cutover),
    Operation("clear", lambda lab, t: t["state"] not in ACTIVE, "SMS.2015", "pause it before clearing", _clear),
    Operation("test", lambda lab, t: _replicated(lab, t) and not _cut_over(lab, t), "SMS.1038",
              "only a replicated target that is not cut over can be tested", _test),
    Operation("clone_test", lambda lab, t: t["state"] in (*REPLICATED, "SYNCING") and not _cut_over(lab, t),
              "SMS.1038", "only a replicated task that is not cut over can be cloned", _clone_test),
    Operation("network_check", lambda lab, t: connected(lab, source_of(lab, t) or {}), "SMS.1038",
              "network_check needs the source's agent connected", _network_check),
    Operation("migration_test", lambda lab, t: t["state"] == "READY", "SMS.1039",
              "a migration test runs before the migration", _migration_test),
    Operation("error_for_overspeed", lambda lab, t: True, "SMS.1038", "", _overspeed),
)}


def act(lab: LabContext, task: dict[str, Any], operation: str, body: Body | None = None) -> None:
    op = OPERATIONS.get(operation)
    if op is None:
        raise bad_request("SMS.2009", f"unknown operation {operation!r}: one of {', '.join(OPERATIONS)}")
    if task["state"] == "DELETING":
        raise refused("SMS.2015", f"task {task['id']} is being deleted")
    if not op.allowed(lab, task):
        cycle = cycle_of(lab, task)
        raise refused(op.code, f"task {task['id']} is {task['state']}{f' ({cycle})' if cycle else ''}: "
                               f"{op.refusal}")
    op.effect(lab, task, body or {})


# ---- DeleteTask ------------------------------------------------------------------------------------------------

def delete(lab: LabContext, task: dict[str, Any]) -> None:
    """DeleteTask's rule: the agent disconnected, or the task verification-failed, ready, finished, error or
    paused; otherwise SMS.2015. The task goes DELETING and disappears `transition_seconds` later."""
    if task["state"] == "DELETING":
        return
    source = source_of(lab, task) or {}
    agent_gone = not source or not connected(lab, source)
    if not agent_gone and source.get("state") == "cloning":  # DeleteTask's constraints name `cloning` itself
        raise refused("SMS.2015", f"task {task['id']}: its source is cloning the target with its agent connected: "
                                  "The in-progress or stopping tasks cannot be deleted")
    if not (agent_gone or task["state"] in DELETABLE or source.get("state") in DELETABLE_SOURCE):
        raise refused("SMS.2015", f"task {task['id']} is {task['state']} with its agent connected: The in-progress "
                                  "or stopping tasks cannot be deleted")
    before = source.get("state") or "waiting"
    task["state"] = "DELETING"
    set_source(lab, task, state="deleting")
    lab.store.put("sms_task", task)
    later(lab, task, "DELETED", source_state=before)
