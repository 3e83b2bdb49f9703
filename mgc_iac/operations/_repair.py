"""`retry`, `sync` and `state unlock`: put a server's steps back to run again, or remove a lock left behind.

Retry (after a network fault, the agent still runs on the source): the failed step runs again and the copy
resumes where it stopped. Full Retry (after a source reboot, the agent is gone): the SMS task is deleted and the
server starts again from StartUpAgent. Sync: the incremental synchronization runs again (its gate then needs a
new approval). Each holds the stack's lock while it changes the state. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mgc_iac.errors import StateLockedError
from mgc_iac.operations._workspace import STATE_WRITE, Workspace
from mgc_iac.state import LockInfo


@dataclass(frozen=True)
class Rewound:
    server: str
    steps: list[str]          # the steps that will run again, first one first
    task_deleted: bool = False


def open_for_repair(stack: Path, operation: str) -> Workspace:
    """The workspace of a repair: the state open and the stack's lock held for `operation` (retry, sync)."""
    return Workspace.open(stack, state=STATE_WRITE, lock=operation)


def retry(ws: Workspace, server: str, *, full: bool = False) -> Rewound:
    """Retry `server`'s failed step; `full`: delete its SMS task and start again from StartUpAgent."""
    from mgc_iac.engine import full_retry, full_retry_target
    from mgc_iac.engine import retry as rewind

    if not full:
        return Rewound(server, rewind(ws.store, ws.name, server))
    from mgc_iac.cloud import delete_sms_task
    from mgc_iac.providers import poll_interval

    task = full_retry_target(ws.store, ws.name, server)
    deleted = False
    if task is not None and task.outputs.get("id") and not task.outputs.get("cleared"):
        delete_sms_task(ws.cloud_config, str(task.outputs["id"]),
                        interval=poll_interval(ws.spec, server.split("/")[0]))
        deleted = True
    return Rewound(server, full_retry(ws.store, ws.name, server, task), deleted)


def resync(ws: Workspace, server: str) -> Rewound:
    """Run `server`'s incremental synchronization again (while it waits at BusinessValidation)."""
    from mgc_iac.engine import resync as rewind

    return Rewound(server, rewind(ws.store, ws.name, server))


@dataclass(frozen=True)
class Unlocked:
    removed: LockInfo | None  # None: no lock was held


def unlock(ws: Workspace, lock_id: str | None = None) -> Unlocked:
    """Remove the stack's lock left by a process that is gone. Refused while the holder runs on this host, or when
    another host took it recently (24 h), unless `lock_id` names it (`--force LOCK_ID`)."""
    from mgc_iac.state import why_held

    store, name = ws.store, ws.name
    lock = store.lock_info(name)
    if lock is None:
        return Unlocked(None)
    if lock_id is not None and lock_id != lock.lock_id:
        raise StateLockedError(f"the lock of `{name}` has id {lock.lock_id}, not {lock_id}: it may be another "
                               "apply's lock; run `mgc-iac status` and check again")
    reason = why_held(lock) if lock_id is None else None
    if reason is not None:
        raise StateLockedError(f"not unlocked: {reason}. If that apply is really gone, run `mgc-iac state unlock "
                               f"{ws.directory} --force {lock.lock_id}`")
    held = store.force_unlock(name, lock.lock_id)
    if held is None:
        raise StateLockedError(f"the lock of `{name}` changed while unlocking; run `mgc-iac status` and check again")
    return Unlocked(held)
