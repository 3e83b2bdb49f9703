"""Apply requirements for manual gates, Atlantis-style: a side-effect-free check returning refusals.

A gate (`workflow/server/Step`) passes when enough distinct approvers approved it against the digest of the
plan in which it waits. Approvals bound to another digest are discarded (the plan changed); the plan's
author counts only when the stack's policy allows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mgc_iac.approvals.model import ApprovalsFile
from mgc_iac.plan.model import Plan, StepAction
from mgc_iac.spec.models import ApprovalPolicy
from mgc_iac.state.model import ApprovalRecord


@dataclass(frozen=True)
class Approval:
    """One approver's approval of one gate for one plan digest."""

    gate: str
    approver: str
    plan_digest: str
    via: str = "cli"  # cli (recorded in state by `mgc-iac approve`) | git (approvals.yaml)
    at: str = ""


@dataclass(frozen=True)
class Refusal:
    """Why a gate may not pass (or an approval may not be recorded). `code` is stable for machines."""

    gate: str
    code: str  # not-a-gate | not-waiting | stale-digest | author-not-allowed | needs-approvers
    reason: str

    def __str__(self) -> str:
        return f"{self.gate}: {self.reason}"


def combine(file: ApprovalsFile | None, records: Iterable[ApprovalRecord]) -> list[Approval]:
    """Approvals from approvals.yaml (via git) and from state (via `mgc-iac approve`), one per gate."""
    out = [Approval(r.gate, r.approver, r.plan_digest, r.via, r.at) for r in records]
    if file is not None:
        for entry in file.approvals:
            out.extend(Approval(gate, entry.by, entry.plan_digest, "git") for gate in entry.gates)
    return out


def _same_person(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.strip().lower() == b.strip().lower()  # type: ignore[union-attr]


def _gate_problem(plan: Plan, gate: str) -> Refusal | None:
    """None when `gate` is a manual step waiting for approval in `plan`."""
    parts = gate.split("/")
    if len(parts) != 3:
        return Refusal(gate, "not-a-gate", "a gate is written workflow/server/Step, e.g. "
                                           "shop-wave-1/web-01/BusinessValidation")
    workflow, server, step = parts
    change = next((s for s in plan.server_changes if s.workflow == workflow and s.server == server), None)
    if change is None:
        return Refusal(gate, "not-a-gate", f"the plan has no server {workflow}/{server}")
    found = next((s for s in change.steps if s.step == step), None)
    if found is None or not found.manual:
        return Refusal(gate, "not-a-gate", f"{step} is not a manual checkpoint (ResizeDiskPartition, "
                                           "BusinessValidation, Cutover)")
    if found.action is not StepAction.WAIT:
        return Refusal(gate, "not-waiting", f"the gate does not wait for approval in this plan (it is "
                                            f"{found.action.value})")
    return None


def gate_approvers(gate: str, digest: str, approvals: Iterable[Approval], policy: ApprovalPolicy,
                   author: str | None) -> list[str]:
    """The distinct approvers that count for `gate` under `digest` and `policy`, in approval order."""
    seen: dict[str, str] = {}
    for a in approvals:
        if a.gate != gate or a.plan_digest != digest:
            continue
        if not policy.allow_plan_author and _same_person(a.approver, author):
            continue
        seen.setdefault(a.approver.strip().lower(), a.approver.strip())
    return list(seen.values())


def check_requirements(plan: Plan, digest: str, approvals: Iterable[Approval], policy: ApprovalPolicy,
                       author: str | None, gates: Iterable[str] | None = None) -> list[Refusal]:
    """Refusals for every gate that may not pass (default: every gate waiting in `plan`); [] = all pass.

    Pure: reads only its arguments. `digest` is the digest of `plan` (plan files carry it).
    """
    approvals = list(approvals)
    refusals: list[Refusal] = []
    for gate in (list(gates) if gates is not None else plan.gates()):
        problem = _gate_problem(plan, gate)
        if problem is not None:
            refusals.append(problem)
            continue
        counted = gate_approvers(gate, digest, approvals, policy, author)
        if len(counted) >= policy.required_approvers:
            continue
        mine = [a for a in approvals if a.gate == gate]
        stale = [a for a in mine if a.plan_digest != digest]
        by_author = [a for a in mine if a.plan_digest == digest and not policy.allow_plan_author
                     and _same_person(a.approver, author)]
        need = policy.required_approvers
        notes = []
        if stale:
            notes.append(f"{len(stale)} approval(s) for another plan digest were discarded (the plan changed)")
        if by_author:
            notes.append(f"the plan's author {author} may not approve it (approvals.allow_plan_author: false)")
        got = f"has {len(counted)} ({', '.join(counted)})" if counted else "has none"
        code = "stale-digest" if stale and not counted else ("author-not-allowed" if by_author else "needs-approvers")
        refusals.append(Refusal(gate, code, f"needs {need} approver(s) for plan {digest}, {got}"
                                + ("; " + "; ".join(notes) if notes else "")))
    return refusals


def check_approval(plan: Plan, digest: str, gates: Iterable[str], approver: str, policy: ApprovalPolicy,
                   author: str | None) -> list[Refusal]:
    """Refusals for recording `approver`'s approval of `gates` against `plan` (what `approve` checks)."""
    refusals = []
    for gate in gates:
        problem = _gate_problem(plan, gate)
        if problem is not None:
            refusals.append(problem)
        elif not policy.allow_plan_author and _same_person(approver, author):
            refusals.append(Refusal(gate, "author-not-allowed", f"{approver} made this plan and the stack's policy "
                                    "(approvals.allow_plan_author: false) asks for someone else"))
    return refusals
