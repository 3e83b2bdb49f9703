"""A gate is passed only by a verified approval, every time (issue 19): the engine checks the state's passed gates
against the approvals before it resumes them.

The state's step rows say which gates passed ("done", or "running" with who approved it). Those rows are claims:
whoever can write the state can write them (a pull request's stack.py once did: BusinessValidation "done",
Cutover "running" with a forged `approved_by`, and the next scheduled apply cut the server over). So before an
apply runs anything that follows a gate the state says passed, the pass is verified again from the approvals
themselves: signatures by the allowed signers in force, for the gate, for the plan digest the row names, enough
of them under the policy in force. A row no verified approval backs is tampering: the apply stops (exit 1)
before any step runs.

Checked: a manual step resumed RUNNING, and a manual step DONE that some later step of the server still runs
or waits after. The approvals come from approvals.yaml, the state's approvals, and the signed approvals the
engine copies into a step's record when its gate passes (`approvals` in the detail: signatures verify or not,
whatever row holds them; a name without a signature in a row is never evidence).
"""

from __future__ import annotations

from collections.abc import Iterable

from mgc_iac.approvals import Approval, gate_approvers
from mgc_iac.plan import Plan, StepAction
from mgc_iac.stack import ApprovalPolicy
from mgc_iac.state import Snapshot, StepStatus


def evidence(snapshot: Snapshot) -> list[Approval]:
    """The signed approvals recorded with passed gates (unverified: Trust.check verifies them like any other)."""
    found: list[Approval] = []
    for gate, record in snapshot.steps.items():
        for item in record.detail.get("approvals") or ():
            if not isinstance(item, dict) or not item.get("signature"):
                continue
            gates = tuple(str(g) for g in item.get("signed_gates") or (gate,))
            found.append(Approval(gate, str(item.get("approver", "")), str(item.get("plan_digest", "")),
                                  "state-evidence", "", str(item["signature"]), gates))
    return found


def evidence_of(approvals: Iterable[Approval]) -> list[dict[str, object]]:
    """What the engine records with a gate that passes: the signed approvals that counted."""
    return [{"approver": a.approver, "plan_digest": a.plan_digest, "signature": a.signature,
             "signed_gates": list(a.signed_gates or (a.gate,))} for a in approvals if a.signature]


def unverified_passes(plan: Plan, snapshot: Snapshot, approvals: Iterable[Approval],
                      policy: ApprovalPolicy) -> list[str]:
    """One line per gate the state says passed that no verified approval passes (`approvals`: verified ones)."""
    approvals = list(approvals)
    # who authored which plan back then is not known now: the author rule is not re-applied to a past pass
    rules = replace_policy(policy)
    problems = []
    for server in plan.server_changes:
        for index, step in enumerate(server.steps):
            if not step.manual:
                continue
            gate = f"{server.address}/{step.step}"
            record = snapshot.steps.get(gate)
            resumed = step.action is StepAction.RUN and record is not None and record.status is StepStatus.RUNNING
            followed = step.action is StepAction.DONE and any(
                later.action in (StepAction.RUN, StepAction.WAIT) for later in server.steps[index + 1:])
            if not (resumed or followed) or record is None:
                continue
            digest = str(record.detail.get("plan_digest") or "")
            counted = gate_approvers(gate, digest, approvals, rules, None) if digest else []
            if len(counted) >= rules.required_approvers:
                continue
            claimed = record.detail.get("approved_by") or []
            claim = f"approved by {', '.join(map(str, claimed))}" if claimed else "approved by nobody it names"
            problems.append(
                f"{gate}: the state says it passed ({record.status.value}, {claim}, plan "
                f"{digest or '(none recorded)'}), but {len(counted)} verified approval(s) of it for that plan exist "
                f"and the policy in force needs {rules.required_approvers}")
    return problems


def replace_policy(policy: ApprovalPolicy) -> ApprovalPolicy:
    return policy.model_copy(update={"allow_plan_author": True})


__all__ = ["evidence", "evidence_of", "unverified_passes"]
