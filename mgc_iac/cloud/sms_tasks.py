"""Actions and waits on an SMS task, shared by the engine's step functions (mgc_iac.engine.runners.sms_task) and
the migration_task provider's delete.

Every wait on a task goes through the apply's FleetReader (_fleet.py): one paged ListTasks / ListServers read at
the workflow's `advanced.poll_interval` for all waiting steps, first after half of it. Actions are sent on what
the apply last saw of the task (the reader's last read, or what it noted itself) and read the task only when that
is unknown or when SMS refuses; a lost answer to an action is checked against the task and sent once more if SMS
did not act (mgc_iac.errors.CloudAnswerLostError). What each state means is sms_states.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import mgc_iac.cloud.sms_states as sms_states
from mgc_iac.cloud._fleet import FleetReader
from mgc_iac.cloud._scope import CallScope, call_scope, current_scope
from mgc_iac.cloud.endpoint import cloud_for
from mgc_iac.errors import CloudAnswerLostError, CloudConflictError, CloudError, CloudNotFoundError

SMS_POLL_SECONDS = 10.0  # Huawei's Terraform provider reads a task every 10 s (after 5 s): advanced.poll_interval


def poll_every(interval: float | None) -> float:
    """The interval asked for, else SMS_POLL_SECONDS (read at call time)."""
    return SMS_POLL_SECONDS if interval is None else float(interval)


@contextmanager
def cancel_scope(cancel: Any) -> Iterator[None]:
    """Outside the engine (no CallScope yet): waits end when `cancel` is set."""
    if cancel is None or current_scope() is not None:
        yield
        return
    with call_scope(CallScope(who="sms task", cancel=cancel)):
        yield


def fleet_reader_for(cloud: Any, fleet: Any) -> Any:
    """The apply's FleetReader, or one of its own (a CLI call such as `retry --full`)."""
    return fleet if fleet is not None else FleetReader(cloud.sms)


def latest_task(cloud: Any, fleet: Any, task_id: str, interval: float, need_source: bool = False) -> Any:
    """The task as this apply last saw it (a read at most `interval` old, or its own note), else ShowTask."""
    seen = fleet.latest(task_id, max_age=interval)
    if seen is not None and seen.task is not None and (seen.source is not None or not need_source):
        return seen.task
    noted = fleet.noted(task_id)
    if noted is not None and not need_source:
        return noted
    return cloud.sms.show_task(task_id)


def send_task_action(cloud: Any, fleet: Any, task_id: str, operation: str, took: Callable[[Any], bool]) -> None:
    """Send a task action. SMS refusing it because it is done already (`took(task)`) is success; a lost answer
    is checked against the task and the action sent once more when SMS did not carry it out."""
    for attempt in (1, 2):
        fleet.forget(task_id)
        try:
            cloud.sms.task_action(task_id, operation)
            return
        except CloudAnswerLostError:
            if took(cloud.sms.show_task(task_id)):
                return
            if attempt == 2:
                raise
        except CloudConflictError:
            if took(cloud.sms.show_task(task_id)):
                return
            raise


def _present(view: Any, task_id: str) -> Any:
    if view.gone:
        raise CloudNotFoundError(f"task {task_id} is gone from SMS (deleted outside mgc-iac?)", service="sms",
                                 operation="list_tasks")
    return view.task


def settled_task(cloud: Any, fleet: Any, task_id: str, task: Any, interval: float) -> Any:
    """The task once SMS has finished a transition it makes on its own (ABORTING, SKIPPING, RESETING...); a
    state SMS does not document raises UnknownStateError naming it."""
    def steady(t: Any) -> bool:
        if t.state not in sms_states.TASK_STATES:
            sms_states.migration(t)       # raises UnknownStateError naming the state
        return t.state not in sms_states.TRANSIENT or t.state == "DELETING"

    if steady(task):
        return task
    view = fleet.wait(task_id, lambda v: steady(_present(v, task_id)), interval=interval,
                      what=f"SMS task {task_id} ({task.state})")
    return view.task


def stop_task_copy(cloud: Any, fleet: Any, task_id: str, interval: float) -> Any:
    """A copy SMS thinks runs, stopped (ABORTING, then ABORT): the safe point a stalled copy starts from again."""
    send_task_action(cloud, fleet, task_id, "stop", lambda t: t.state in ("ABORTING", "ABORT"))
    return settled_task(cloud, fleet, task_id, cloud.sms.show_task(task_id), interval)


def _delete_clone(cloud: Any, clone: Any) -> None:
    """The clone SMS made of the task (TestLaunch's clone_test), deleted with it: a server of its own that nothing
    deletes once the task is gone (SMS user guide, "(Optional) Deleting a Server Clone": the user deletes it), so
    a server removed from the stack or a Full Retry while TestValidation waits would leave it running, billed."""
    try:
        cloud.ecs.show_server(clone.vm_id)
    except CloudNotFoundError:   # TestCleanup deleted it already
        return
    cloud.ecs.delete_server(clone.vm_id, delete_volumes=True, wait=True)


def delete_sms_task(cloud_config: dict[str, Any], task_id: str, cancel: Any = None, *, fleet: Any = None,
                interval: float | None = None) -> None:
    """DeleteTask as Huawei allows it: a plain DELETE when the agent is disconnected or the task is ready,
    finished, failed or paused (sms_states.deletable: no stop first, as the Terraform provider); a task copying
    with its agent connected is paused first (action stop, ABORTING, then ABORT), since SMS refuses to delete
    it. A clone the task names is deleted first (_delete_clone). Then wait (the fleet reader's lists) through
    DELETING until it is gone. `cancel` is the CallScope's."""

    with cancel_scope(cancel):
        cloud = cloud_for(cloud_config)
        _delete(cloud, task_id, fleet_reader_for(cloud, fleet), poll_every(interval))


def _delete(cloud: Any, task_id: str, fleet: Any, interval: float) -> None:
    try:
        task = settled_task(cloud, fleet, task_id, latest_task(cloud, fleet, task_id, interval), interval)
        if task.clone is not None:
            _delete_clone(cloud, task.clone)
        if not sms_states.deletable(task):
            task = stop_task_copy(cloud, fleet, task_id, interval)
        if task.state != "DELETING":
            try:
                cloud.sms.delete_task(task_id)
            except CloudConflictError:   # what we knew was out of date: SMS says it copies
                if cloud.sms.show_task(task_id).state != "DELETING":
                    stop_task_copy(cloud, fleet, task_id, interval)
                    cloud.sms.delete_task(task_id)
    except CloudNotFoundError:
        return
    fleet.forget(task_id)

    def gone(view: Any) -> bool:
        if view.gone:
            return True
        if view.task.state != "DELETING":
            raise CloudError(f"task {task_id} is {view.task.state} after DeleteTask, not DELETING", service="sms",
                             operation="delete_task")
        return False

    # SMS accepted the delete (DELETING): a list that no longer shows the task is taken at its word, without a
    # ShowTask each (a list paged while others are deleted may skip it: then it is DELETING and gone a moment later)
    fleet.wait(task_id, gone, interval=interval, what=f"SMS task {task_id} deleting", confirm_gone=False)
