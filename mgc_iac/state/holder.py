"""Who holds a lock: this process, its host, the CI job it runs in; and the account-wide FIFO of migration slots
(the part both state backends share: which waiting servers get the free slots)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from mgc_iac.state.store import LockInfo, SlotRequest

# the CI systems' own job identifiers (GitHub Actions, GitLab CI, Buildkite, Jenkins): named in lock messages
_RUNNER_ENV = ("GITHUB_RUN_ID", "CI_JOB_ID", "BUILDKITE_JOB_ID", "BUILD_TAG")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def runner_id() -> str:
    """The CI job this process runs in ("GITHUB_RUN_ID=123"), empty on a workstation."""
    for name in _RUNNER_ENV:
        value = os.environ.get(name)
        if value:
            return f"{name}={value}"
    return ""


def new_holder(stack: str, operation: str) -> LockInfo:
    return LockInfo(stack, os.getpid(), socket.gethostname(), now(), operation, runner_id(), uuid.uuid4().hex[:16])


def locked_message(held: LockInfo) -> str:
    return (f"the state of stack `{held.stack}` is locked by {held.describe()}; wait for it to finish, or, if that "
            f"process is gone, run `mgc-iac state unlock --force {held.lock_id or '<lock id>'} STACK`")


Waiter = tuple[tuple[int, int], str, str, str]  # (FIFO order, stack, workflow, server)


def allot(free: int, stack: str, mine: list[SlotRequest], others: Iterable[Waiter]
          ) -> tuple[list[tuple[str, str]], dict[tuple[str, str], int]]:
    """Hand `free` slots to the head of the account-wide FIFO made of this stack's requests and the servers of
    other live applies that wait: the heads that are this stack's are granted; a head that is another's is
    kept for it (it claims on its next poll); everyone else gets their queue position (1 = next)."""
    queue: list[Waiter] = sorted([*others, *((r.order, stack, r.workflow, r.server) for r in mine)])
    granted: list[tuple[str, str]] = []
    positions: dict[tuple[str, str], int] = {}
    for index, (_, owner, workflow, server) in enumerate(queue):
        if owner != stack:
            continue
        if index < free:
            granted.append((workflow, server))
        else:
            positions[(workflow, server)] = index - max(free, 0) + 1
    return granted, positions


def mac_conflict(stack: str, wanted: set[tuple[str, str]], taken: list[tuple[str, str, str]]) -> str:
    """The refusal for sources whose MACs (name, mac) another stack of the backend migrates (mac, stack, name)."""
    mine = {m: n for n, m in wanted}
    first = "; ".join(f"MAC {mac} of source {mine[mac]} is already migrated by source {name} of stack `{other}`"
                      for mac, other, name in sorted(taken)[:5])
    return f"stack `{stack}`: {first}; a MAC is migrated once per account: remove the source from one of the stacks"
