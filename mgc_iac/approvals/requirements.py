"""Apply requirements for manual gates, Atlantis-style: a side-effect-free check returning refusals.

A gate (`workflow/server/Step`) passes when enough distinct approvers approved it against the digest of the
plan in which it waits. Approvals bound to another digest are discarded (the plan changed); the plan's
authors (the principals who signed it) count only when the stack's policy allows it; an approval counts only
for a gate that waited in the state the plan was made against, unless the policy allows approving in advance.
Approvers are compared as given: mgc_iac.approvals.trust turns signatures into principals first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from mgc_iac.approvals.model import ApprovalsFile
from mgc_iac.plan import POLICY_GATE, Plan, StepAction
from mgc_iac.stack import ApprovalPolicy
from mgc_iac.state import ApprovalRecord

Authors = Iterable[str] | str | None
# Listed with the gates an approval signs (`approve --override-checks`, `override_checks: true` in
# approvals.yaml): its gates pass although their automated checks failed. Part of the signed bytes, so it cannot
# be added to an approval afterwards.
OVERRIDE_CHECKS = "override-checks"


@dataclass(frozen=True)
class Approval:
    """One approver's approval of one gate for one plan digest."""

    gate: str
    approver: str
    plan_digest: str
    via: str = "cli"  # cli (recorded in state by `mgc-iac approve`) | git (approvals.yaml)
    at: str = ""
    signature: str = ""  # armored SSHSIG; empty = unsigned
    signed_gates: tuple[str, ...] = ()  # the gates the signature covers (empty: just `gate`)

    @property
    def overrides_checks(self) -> bool:
        """The approver passes the gate although its automated checks failed (signed with the gates)."""
        return OVERRIDE_CHECKS in self.signed_gates


@dataclass(frozen=True)
class Refusal:
    """Why a gate may not pass (or an approval may not be recorded). `code` is stable for machines."""

    gate: str
    code: str  # not-a-gate | not-waiting | not-waiting-yet | stale-digest | author-not-allowed | needs-approvers
    #            | unsigned | bad-signature
    reason: str

    def __str__(self) -> str:
        return f"{self.gate}: {self.reason}"


def combine(file: ApprovalsFile | None, records: Iterable[ApprovalRecord]) -> list[Approval]:
    """Approvals from approvals.yaml (via git) and from state (via `mgc-iac approve`), one per gate."""
    out = [Approval(r.gate, r.approver, r.plan_digest, r.via, r.at, r.signature, tuple(r.signed_gates))
           for r in records]
    if file is not None:
        for entry in file.approvals:
            signed = (*entry.gates, OVERRIDE_CHECKS) if entry.override_checks else tuple(entry.gates)
            out.extend(Approval(gate, entry.by, entry.plan_digest, "git", "", entry.signature, signed)
                       for gate in entry.gates)
    return out


def normalized_name(name: str) -> str:
    """A name as compared: NFKC, no format characters (a zero-width space), no outer spaces, casefolded."""
    text = unicodedata.normalize("NFKC", name)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip().casefold()


def _authors(authors: Authors) -> set[str]:
    if authors is None:
        return set()
    return {authors} if isinstance(authors, str) else set(authors)


def _is_author(approver: str, authors: set[str]) -> bool:
    return normalized_name(approver) in {normalized_name(a) for a in authors}


def _gate_problem(plan: Plan, gate: str) -> Refusal | None:
    """None when `gate` is a manual step waiting for approval in `plan` (or its widening policy change)."""
    if gate == POLICY_GATE:
        return None if plan.policy_widens else Refusal(gate, "not-a-gate", "this plan changes the approval policy "
                                                                            "in no way that needs an approval")
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
                                           "TestValidation, BusinessValidation, Cutover)")
    if found.action is not StepAction.WAIT:
        return Refusal(gate, "not-waiting", f"the gate does not wait for approval in this plan (it is "
                                            f"{found.action.value})")
    return None


def _not_waiting_yet(gate: str) -> Refusal:
    return Refusal(gate, "not-waiting-yet", "not waiting yet: an approval counts only for a gate the migration has "
                                            "reached (apply stops there; `mgc-iac status` shows it), unless the "
                                            "stack sets approvals.allow_advance: true")


def gate_approvers(gate: str, digest: str, approvals: Iterable[Approval], policy: ApprovalPolicy,
                   authors: Authors) -> list[str]:
    """The distinct approvers that count for `gate` under `digest` and `policy`, in approval order."""
    excluded = _authors(authors)
    seen: dict[str, str] = {}
    for a in approvals:
        if a.gate != gate or a.plan_digest != digest:
            continue
        if not policy.allow_plan_author and _is_author(a.approver, excluded):
            continue
        seen.setdefault(normalized_name(a.approver), a.approver.strip())
    return list(seen.values())


def check_overriders(gate: str, digest: str, approvals: Iterable[Approval], policy: ApprovalPolicy,
                     authors: Authors) -> list[str]:
    """The counting approvers of `gate` who passed it over failed automated checks (--override-checks)."""
    return gate_approvers(gate, digest, [a for a in approvals if a.overrides_checks], policy, authors)


def check_requirements(plan: Plan, digest: str, approvals: Iterable[Approval], policy: ApprovalPolicy,
                       authors: Authors, gates: Iterable[str] | None = None, *,
                       waiting: Collection[str] | None = None,
                       rejected: Iterable[Refusal] = ()) -> list[Refusal]:
    """Refusals for every gate that may not pass (default: every gate waiting in `plan`); [] = all pass.

    Pure: reads only its arguments. `digest` is the digest of `plan` (plan files carry it). `waiting`: the
    gates WAITING in the state the plan was made against (None: not checked); `rejected`: approvals that did
    not verify (their reasons are added to the gate's refusal).
    """
    approvals = list(approvals)
    excluded = _authors(authors)
    rejected_by_gate: dict[str, list[Refusal]] = {}
    for r in rejected:
        rejected_by_gate.setdefault(r.gate, []).append(r)
    refusals: list[Refusal] = []
    for gate in (list(gates) if gates is not None else plan.gates()):
        problem = _gate_problem(plan, gate)
        if problem is not None:
            refusals.append(problem)
            continue
        if waiting is not None and gate not in waiting and gate != POLICY_GATE and not policy.allow_advance:
            refusals.append(_not_waiting_yet(gate))
            continue
        counted = gate_approvers(gate, digest, approvals, policy, excluded)
        if len(counted) >= policy.required_approvers:
            continue
        mine = [a for a in approvals if a.gate == gate]
        stale = [a for a in mine if a.plan_digest != digest]
        by_author = [a for a in mine if a.plan_digest == digest and not policy.allow_plan_author
                     and _is_author(a.approver, excluded)]
        need = policy.required_approvers
        notes = [r.reason for r in rejected_by_gate.get(gate, [])]
        if stale:
            notes.append(f"{len(stale)} approval(s) for another plan digest were discarded (the plan changed)")
        if by_author:
            notes.append(f"the plan's author {', '.join(sorted({a.approver for a in by_author}))} may not approve "
                         "it (approvals.allow_plan_author: false)")
        if not policy.allow_plan_author and not excluded:
            notes.append(author_unknown_note())
        got = f"has {len(counted)} ({', '.join(counted)})" if counted else "has none"
        code = ("stale-digest" if stale and not counted else "author-not-allowed" if by_author
                else rejected_by_gate[gate][0].code if gate in rejected_by_gate else "needs-approvers")
        refusals.append(Refusal(gate, code, f"needs {need} approver(s) for plan {digest}, {got}"
                                + ("; " + "; ".join(notes) if notes else "")))
    return refusals


def author_unknown_note() -> str:
    return ("the plan is not signed (`mgc-iac plan --sign-key`), so its author is unknown and "
            "approvals.allow_plan_author: false cannot exclude them")


def check_approval(plan: Plan, digest: str, gates: Iterable[str], approver: str, policy: ApprovalPolicy,
                   authors: Authors, *, waiting: Collection[str] | None = None) -> list[Refusal]:
    """Refusals for recording `approver`'s approval of `gates` against `plan` (what `approve` checks)."""
    excluded = _authors(authors)
    refusals = []
    for gate in gates:
        problem = _gate_problem(plan, gate)
        if problem is not None:
            refusals.append(problem)
        elif waiting is not None and gate not in waiting and gate != POLICY_GATE and not policy.allow_advance:
            refusals.append(_not_waiting_yet(gate))
        elif not policy.allow_plan_author and _is_author(approver, excluded):
            refusals.append(Refusal(gate, "author-not-allowed", f"{approver} made this plan and the stack's policy "
                                    "(approvals.allow_plan_author: false) asks for someone else"))
    return refusals
