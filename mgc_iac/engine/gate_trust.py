"""The engine's two checks of the trusted side before any step runs (issue 19), kept out of engine.py:

- every gate the state says passed, that a step of this apply runs or waits after, is verified again from the
  approvals (gate_evidence.py); a row nothing verifies stops the apply as tampering;
- the approval policy this apply runs under is recorded with the spec digest (the `applied` record a pull
  request's plan reads as the policy in force); a widening change is recorded only once its gate passed under
  the policy in force (mgc_iac/approvals/policy.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from mgc_iac.approvals import Approval, Policy, Refusal, check_requirements, settle
from mgc_iac.engine.gate_evidence import unverified_passes
from mgc_iac.engine.result import Waiting
from mgc_iac.errors import StateTamperedError
from mgc_iac.plan import POLICY_GATE, Plan
from mgc_iac.stack import ApprovalPolicy
from mgc_iac.state import AppliedRecord, Snapshot, StateStore


def check_passed_gates(plan: Plan, snapshot: Snapshot, approvals: Iterable[Approval], policy: ApprovalPolicy) -> None:
    """Raise StateTamperedError naming every passed gate no verified approval backs."""
    problems = unverified_passes(plan, snapshot, approvals, policy)
    if problems:
        raise StateTamperedError(
            f"the state of `{plan.stack}` claims {len(problems)} gate(s) passed that no verified approval passes; "
            "nothing was run:\n  " + "\n  ".join(problems) + "\nSomeone wrote these step records without an "
            "approval: check who can write the state (`mgc-iac state journal` lists what was recorded). If the "
            "gate was really approved, have it approved again for the plan digest named above (`mgc-iac approve "
            "... --digest DIGEST`), signed by an allowed signer in force; then apply again.")


def settle_policy(store: StateStore, plan: Plan, digest: str, approvals: Iterable[Approval], policy: ApprovalPolicy,
                  authors: set[str], rejected: Iterable[Refusal]) -> Waiting | None:
    """Record what this apply runs with; the Waiting of a widening policy change not approved yet (else None)."""
    if plan.policy is None:  # a plan made without the policy (a test's own planner call): nothing to record
        return None
    current = Policy.from_record(plan.policy, str(plan.policy.get("source", "")))
    change = plan.policy_change
    proposed = Policy.from_record(change["proposed"], "the spec") if change else current
    refusals = check_requirements(plan, digest, approvals, policy, authors, gates=[POLICY_GATE],
                                  rejected=rejected) if plan.policy_widens else []
    recorded, waits = settle(change, current, proposed, plan.policy_widens and not refusals)
    with store.transaction(plan.stack) as txn:
        txn.record_applied(AppliedRecord(plan.spec_digest, recorded.record(),
                                         git_commit=plan.provenance.git_commit or ""))
    if not waits:
        return None
    lines = "; ".join(change["changes"]) if change else ""
    return Waiting(POLICY_GATE, f"the approval policy change ({lines}) needs approval under the policy in force "
                                f"({refusals[0].reason}); until then the policy in force counts")
