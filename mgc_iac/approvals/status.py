"""Which of a plan's gates are already approved, and by whom (signed or not): what the plan says about them.

A gate that waits in state and has enough approvals for the plan's digest passes at the next apply; the plan
says "approved by X (signed); runs at the next apply" instead of "waits for approval". Pure: the same check
apply makes (check_requirements), given the approvals that trust.check counted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from mgc_iac.approvals.requirements import Approval, Authors, Refusal, check_requirements, gate_approvers
from mgc_iac.plan import Plan
from mgc_iac.stack import ApprovalPolicy


@dataclass(frozen=True)
class GateApproval:
    """A gate of the plan whose approvals suffice: it runs at the next apply."""

    gate: str
    approvers: tuple[tuple[str, bool], ...]  # (principal or name, signed)

    def describe(self) -> str:
        who = ", ".join(f"{name} ({'signed' if signed else 'unsigned'})" for name, signed in self.approvers)
        return f"approved by {who}; runs at the next apply"


def approved_gates(plan: Plan, digest: str, counted: Iterable[Approval], policy: ApprovalPolicy, authors: Authors,
                   waiting: Collection[str], rejected: Iterable[Refusal] = ()) -> dict[str, GateApproval]:
    """gate -> GateApproval for every gate of `plan` that apply would let pass now."""
    counted = list(counted)
    rejected = list(rejected)
    out: dict[str, GateApproval] = {}
    for gate in plan.gates():
        if check_requirements(plan, digest, counted, policy, authors, gates=[gate], waiting=waiting,
                              rejected=rejected):
            continue
        names = gate_approvers(gate, digest, counted, policy, authors)
        signed = {a.approver for a in counted if a.gate == gate and a.plan_digest == digest and a.signature}
        out[gate] = GateApproval(gate, tuple((n, n in signed) for n in names))
    return out
