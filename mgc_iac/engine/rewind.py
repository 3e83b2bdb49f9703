"""Send a server back to an earlier step: MgC's Full Retry and "run the synchronization again".

Both only rewrite step records (to PENDING, journaled as `rewind`); the next apply runs the steps again.
    full_retry  after a source reboot lost the agent: the task is deleted (by the caller, on the cloud) and
                recorded as cleared; the server restarts at StartUpAgent (agent, new task, full replication).
    resync      from BusinessValidation: StartSynchronization (and VerifyConsistency) run again.
    retry       MgC's Retry: the server's failed step runs again (after a network fault: the agent still
                runs, the copy resumes where it stopped).
"""

from __future__ import annotations

from mgc_iac.errors import UserError
from mgc_iac.graph import STEP_ORDER
from mgc_iac.state import ResourceRecord, StateStore, StepRecord, StepStatus

ORDER = [k.value for k in STEP_ORDER]


def _server_steps(store: StateStore, stack: str, server: str) -> dict[str, StepRecord]:
    snapshot = store.snapshot(stack)
    steps = {r.step: r for g, r in snapshot.steps.items() if g.rsplit("/", 1)[0] == server}
    if not steps:
        raise UserError(f"no recorded steps for {server}: write it workflow/server, as `mgc-iac status` shows")
    return steps


def _rewind(store: StateStore, stack: str, steps: dict[str, StepRecord], first: str, reason: str,
            task: ResourceRecord | None = None) -> list[str]:
    moved = []
    with store.transaction(stack) as txn:
        if task is not None:
            txn.put_resource(task)
        for name in ORDER[ORDER.index(first):]:
            record = steps.get(name)
            if record is None or record.status is StepStatus.PENDING:
                continue
            txn.put_step(StepRecord(record.workflow, record.server, name, StepStatus.PENDING, record.attempt,
                                    {"rewound": reason}))
            txn.journal(record.gate, "rewind", {"reason": reason, "was": record.status.value})
            moved.append(record.gate)
    return moved


def full_retry_target(store: StateStore, stack: str, server: str) -> ResourceRecord | None:
    """The task record a full retry deletes (None: no task yet). Refused once the server is cut over."""
    steps = _server_steps(store, stack, server)
    cut = steps.get("Cutover")
    if cut is not None and cut.status is StepStatus.DONE:
        raise UserError(f"{server} is cut over: the target is production and cannot be migrated again")
    snapshot = store.snapshot(stack)
    return snapshot.resources.get(f"{server}/migration_task")


def full_retry(store: StateStore, stack: str, server: str, task: ResourceRecord | None) -> list[str]:
    """After the caller deleted the task on the cloud: record it cleared and restart at StartUpAgent."""
    steps = _server_steps(store, stack, server)
    cleared = None
    if task is not None:
        cleared = ResourceRecord(task.address, task.kind, task.workflow, task.server, task.attrs,
                                 {**task.outputs, "cleared": True})
    return _rewind(store, stack, steps, "StartUpAgent", "full retry", cleared)


def resync(store: StateStore, stack: str, server: str) -> list[str]:
    """Run StartSynchronization again (allowed while the server waits at BusinessValidation)."""
    steps = _server_steps(store, stack, server)
    gate = steps.get("BusinessValidation")
    if gate is None or gate.status is not StepStatus.WAITING:
        raise UserError(f"{server} does not wait at BusinessValidation: synchronization runs again only from there")
    sync = steps.get("StartSynchronization")
    if sync is not None and sync.status is StepStatus.SKIPPED:
        # the page: quick mode skips incremental synchronization (Table 1, Enable Quick Mode)
        raise UserError(f"{server} is in a quick-mode workflow, which skips incremental synchronization: there is "
                        "nothing to run again (turn `advanced.quick_mode` off, apply, then sync)")
    return _rewind(store, stack, steps, "StartSynchronization", "synchronize again")


def retry(store: StateStore, stack: str, server: str) -> list[str]:
    """Retry: the server's FAILED step goes back to PENDING (its later steps were never run). A step left RUNNING
    by an apply that was stopped (the caller holds the stack's lock, so no apply runs it now: e.g. killed while
    the step stalled) is retried the same way. Either runs again from a safe point (CloudSteps: a copy SMS thinks
    runs is stopped and started again, so a lost START is sent again)."""
    steps = _server_steps(store, stack, server)
    failed = [name for name in ORDER if (r := steps.get(name)) is not None and r.status is StepStatus.FAILED]
    if not failed:
        failed = [name for name in ORDER if (r := steps.get(name)) is not None and r.status is StepStatus.RUNNING
                  and not r.detail.get("approved_by")]
    if not failed:
        raise UserError(f"{server} has no failed or interrupted step to retry (`mgc-iac status` shows where it "
                        "stands)")
    return _rewind(store, stack, steps, failed[0], "retry")
