"""What each SMS task and source state means for each migration step: the one place that says it.

Every state SMS documents is listed here with its meaning; a state outside these lists is an error naming
it (`UnknownStateError`), never "not done yet". Sources (SDK 3.1.219 docstrings, huaweicloudsdksms.v3.model):
- task states, v3 list: ListTasksRequest.state (READY, RUNNING, SYNCING, MIGRATE_SUCCESS, MIGRATE_FAIL,
  ABORTING, ABORT, DELETING, SYNC_F_ROLLBACKING, SYNC_F_ROLLBACK_SUCCESS); ShowTaskResponse.state adds
  SYNC_SUCCESS, SYNC_FAIL, SKIPPING, RESETING;
- source states: ShowServerResponse.state / SourceServerAssociatedWithTask.state; cycles:
  ShowServerResponse.migration_cycle;
- DeleteTask: allowed when the agent is disconnected, or the task is verification-failed, ready, finished,
  error or paused (SMS API reference, DeleteTask; Huawei's Terraform provider deletes with a plain DELETE).

Continuous synchronisation (PostTask.syncing: true): after the full copy the task stays SYNCING and copies
the changes in rounds, each a SYNC_* sub-task. "Converged" means: a sync round that STARTED after the step
began has FINISHED (a SYNC_* sub-task with start_date > the step's baseline, progress 100 and an end_date),
so the target holds every change the source had when the step began. The fields that prove it are
`sub_tasks[].name/progress/start_date/end_date` (ShowTask's SubTask and ListTasks' SubTaskAssociatedWithTask
both carry them), so a fleet reader of ListTasks pages decides it the same way as a ShowTask poll.

The readers take `mgc_iac.cloud.Task` (from show_task or list_tasks) and return a `Reading`: wait, done or
failed, with the reason in words. They act on nothing and call nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mgc_iac.errors import CloudError

if TYPE_CHECKING:
    from mgc_iac.cloud._types import Task

TASK_STATES: dict[str, str] = {
    "READY": "ready (created, not started)",
    "RUNNING": "running the full copy",
    "SYNCING": "synchronising (an incremental round, or continuous synchronisation)",
    "MIGRATE_SUCCESS": "full copy finished",
    "MIGRATE_FAIL": "full copy failed",
    "SYNC_SUCCESS": "synchronisation finished",
    "SYNC_FAIL": "synchronisation failed",
    "ABORTING": "being paused",
    "ABORT": "paused",
    "SKIPPING": "skipping the current round",
    "DELETING": "being deleted",
    "RESETING": "rolling back",
    "SYNC_F_ROLLBACKING": "rolling back a failed synchronisation",
    "SYNC_F_ROLLBACK_SUCCESS": "rolled back a failed synchronisation",
}
SOURCE_STATES: dict[str, str] = {
    "unavailable": "failed the environment check", "waiting": "waiting", "initialize": "initialising",
    "replicate": "replicating", "syncing": "synchronising", "stopping": "pausing", "stopped": "paused",
    "skipping": "skipping", "deleting": "deleting its task", "clearing": "clearing the migration resources",
    "cleared": "migration resources cleared", "clearfailed": "clearing the migration resources failed",
    "premigready": "ready for a migration drill", "premiging": "running a migration drill",
    "premiged": "migration drill finished", "premigfailed": "migration drill failed",
    "cloning": "waiting for a clone", "cutovering": "launching the target", "finished": "target launched",
    "error": "error",
}
CYCLES = ("checking", "setting", "replicating", "syncing", "cutovering", "cutovered")

# the full copy has finished in each of these (a later phase, or its outcome)
_PAST_FULL_COPY = frozenset({"MIGRATE_SUCCESS", "SYNCING", "SYNC_SUCCESS", "SYNC_FAIL", "SKIPPING",
                             "SYNC_F_ROLLBACKING", "SYNC_F_ROLLBACK_SUCCESS"})
# DeleteTask's rule in task states: ready, finished, error (failed or rolled back), paused
_DELETABLE = frozenset({"READY", "MIGRATE_SUCCESS", "SYNC_SUCCESS", "MIGRATE_FAIL", "SYNC_FAIL",
                        "SYNC_F_ROLLBACK_SUCCESS", "ABORT"})
# ... and in source states: verification-failed (unavailable), finished, error, paused (stopped)
_DELETABLE_SOURCE = frozenset({"unavailable", "finished", "error", "stopped", "cleared", "clearfailed"})
# states SMS leaves on its own, whatever we do: wait through them
TRANSIENT = frozenset({"ABORTING", "SKIPPING", "DELETING", "RESETING", "SYNC_F_ROLLBACKING"})
COPYING = frozenset({"RUNNING", "SYNCING"})

Verdict = Literal["wait", "done", "failed"]


@dataclass(frozen=True)
class Reading:
    verdict: Verdict
    reason: str

    @property
    def done(self) -> bool:
        return self.verdict == "done"

    @property
    def failed(self) -> bool:
        return self.verdict == "failed"


class UnknownStateError(CloudError):
    """SMS answered a state its documentation does not list: reported, never waited on."""


def _known(task: Task, step: str) -> None:
    if task.state not in TASK_STATES:
        raise UnknownStateError(f"{step}: task {task.id} is in state {task.state!r}, which SMS does not document "
                                f"(known: {', '.join(TASK_STATES)}); check the task in the SMS console",
                                service="sms", operation="show_task")
    if task.source_state and task.source_state not in SOURCE_STATES:
        raise UnknownStateError(f"{step}: source {task.source_id} is in state {task.source_state!r}, which SMS does "
                                f"not document (known: {', '.join(SOURCE_STATES)})", service="sms",
                                operation="show_task")


def _why(task: Task) -> str:
    return f"task {task.id} is {task.state} ({TASK_STATES[task.state]})" + (f": {task.error}" if task.error else "")


def _source_error(task: Task) -> Reading | None:
    if task.source_state == "error":
        return Reading("failed", f"{_why(task)}; its source {task.source_id} is in state error")
    return None


def migration(task: Task) -> Reading:
    """StartMigration, after the action start: done once the full copy has finished."""
    _known(task, "StartMigration")
    if task.state in _PAST_FULL_COPY:
        return Reading("done", _why(task))
    if (bad := _source_error(task)) is not None:
        return bad
    if task.state in ("READY", "RUNNING") or task.state in TRANSIENT - {"DELETING"}:
        return Reading("wait", _why(task))
    return Reading("failed", _why(task))        # MIGRATE_FAIL, ABORT (paused by someone), DELETING


def sync_baseline(task: Task) -> int:
    """The start (ms) of the latest sync round SMS has begun: a round counts for StartSynchronization only if
    it started after this."""
    return max((s.start_ms for s in task.sub_tasks if s.name.startswith("SYNC_")), default=0)


def converged(task: Task, since_ms: int) -> bool:
    """A sync round that started after `since_ms` has finished (see the module docstring)."""
    return any(s.name.startswith("SYNC_") and s.start_ms > since_ms and s.progress >= 100 and s.end_ms > 0
               for s in task.sub_tasks)


def synchronization(task: Task, since_ms: int) -> Reading:
    """StartSynchronization: done when a round begun after `since_ms` has finished, with the task still
    synchronising (continuous) or SYNC_SUCCESS (a single round)."""
    _known(task, "StartSynchronization")
    if (bad := _source_error(task)) is not None:
        return bad
    if task.state in ("SYNCING", "SYNC_SUCCESS") and converged(task, since_ms):
        return Reading("done", f"{_why(task)}; a sync round begun after the step started has finished")
    if task.state in ("SYNCING", "SYNC_SUCCESS", "MIGRATE_SUCCESS", "RUNNING") or task.state in TRANSIENT - {
            "DELETING"}:
        return Reading("wait", _why(task))
    return Reading("failed", _why(task))        # SYNC_FAIL, SYNC_F_ROLLBACK_SUCCESS, MIGRATE_FAIL, ABORT, READY...


def cutover(task: Task) -> Reading:
    """Cutover, after the action cutover: the source's state (and cycle) say whether the target is launched; a
    source in error (or clearfailed) fails at once, whatever the cycle still says."""
    _known(task, "Cutover")
    if task.source_state == "finished" or (not task.source_state and task.migration_cycle == "cutovered"):
        return Reading("done", f"source {task.source_id} is finished (target launched)")
    if task.source_state in ("cutovering", "syncing", "replicate") or (
            not task.source_state and task.migration_cycle == "cutovering"):
        return Reading("wait", f"source {task.source_id} is {task.source_state or task.migration_cycle}")
    return Reading("failed", f"source {task.source_id} is {task.source_state} "
                             f"({SOURCE_STATES.get(task.source_state, 'unknown')}), not launching the target"
                             + (f": {task.error}" if task.error else ""))


def clear(task: Task) -> Reading:
    """SourceClear, after the action clear: cleared is done; clearfailed and error fail at once."""
    _known(task, "SourceClear")
    if task.source_state == "cleared":
        return Reading("done", f"source {task.source_id} is cleared")
    if task.source_state in ("clearing", "finished"):
        return Reading("wait", f"source {task.source_id} is {task.source_state}")
    return Reading("failed", f"source {task.source_id} is {task.source_state} "
                             f"({SOURCE_STATES.get(task.source_state, 'unknown')})"
                             + (f": {task.error}" if task.error else ""))


def deletable(task: Task) -> bool:
    """Whether DeleteTask accepts the task now, without a stop first (SMS API reference, DeleteTask). A task
    read from list_tasks does not say whether its agent is connected: only its state decides then."""
    _known(task, "delete")
    return (task.connected is False or task.state in _DELETABLE or task.source_state in _DELETABLE_SOURCE) and \
        task.state not in TRANSIENT


def copying(task: Task) -> bool:
    """The agent is copying for this task (the only states where a lost agent matters)."""
    return task.state in COPYING
