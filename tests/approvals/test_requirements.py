"""check_requirements: which gates may pass, and the refusals a reviewer reads when one may not."""

from __future__ import annotations

from mgc_iac.approvals import Approval, check_approval, check_requirements
from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.planfile import plan_digest
from mgc_iac.stack.models import ApprovalPolicy

BV = "shop-wave-1/web-01/BusinessValidation"
CUT = "shop-wave-1/web-01/Cutover"
ONE = ApprovalPolicy()


def test_every_waiting_gate_is_refused_without_approvals(planned):
    plan, digest = planned
    refusals = check_requirements(plan, digest, [], ONE, "author@example.com")
    assert {r.gate for r in refusals} == set(plan.gates())
    assert {r.code for r in refusals} == {"needs-approvers"}
    assert "needs 1 approver(s)" in refusals[0].reason


def test_an_approval_for_this_digest_passes_only_its_gate(planned):
    plan, digest = planned
    refusals = check_requirements(plan, digest, [Approval(BV, "alice", digest)], ONE, "author@example.com")
    assert BV not in {r.gate for r in refusals}
    assert CUT in {r.gate for r in refusals}


def test_an_approval_for_another_digest_is_discarded(planned):
    plan, digest = planned
    old = "sha256:" + "0" * 64
    [refusal] = check_requirements(plan, digest, [Approval(BV, "alice", old)], ONE, None, gates=[BV])
    assert refusal.code == "stale-digest"
    assert "discarded" in refusal.reason


def test_required_approvers_must_be_distinct_people(planned):
    plan, digest = planned
    two = ApprovalPolicy(required_approvers=2)
    same_person = [Approval(BV, "alice", digest), Approval(BV, " Alice ", digest)]
    assert check_requirements(plan, digest, same_person, two, None, gates=[BV])[0].code == "needs-approvers"
    both = same_person + [Approval(BV, "bob", digest)]
    assert check_requirements(plan, digest, both, two, None, gates=[BV]) == []


def test_the_plan_author_does_not_count_unless_allowed(planned):
    plan, digest = planned
    strict = ApprovalPolicy(allow_plan_author=False)
    by_author = [Approval(BV, "Carol@Example.com", digest)]
    [refusal] = check_requirements(plan, digest, by_author, strict, "carol@example.com", gates=[BV])
    assert refusal.code == "author-not-allowed"
    assert check_requirements(plan, digest, by_author, ONE, "carol@example.com", gates=[BV]) == []
    assert check_approval(plan, digest, [BV], "carol@example.com", strict, "carol@example.com")[0].code == (
        "author-not-allowed")
    assert check_approval(plan, digest, [BV], "dave", strict, "carol@example.com") == []


def test_only_manual_steps_waiting_in_the_plan_are_gates(planned):
    plan, digest = planned
    cases = {"shop-wave-1/web-01/StartMigration": "not-a-gate", "shop-wave-1/nope/Cutover": "not-a-gate",
             "web-01/Cutover": "not-a-gate",
             # the demo's disks do not shrink: ResizeDiskPartition is skipped, so it never waits
             "shop-wave-1/web-01/ResizeDiskPartition": "not-waiting"}
    refusals = check_approval(plan, digest, list(cases), "alice", ONE, None)
    assert {r.gate: r.code for r in refusals} == cases


def test_check_requirements_has_no_side_effects(planned):
    plan, digest = planned
    approvals = [Approval(BV, "alice", digest)]
    before = (plan.gates(), list(approvals))
    check_requirements(plan, digest, approvals, ONE, None)
    assert (plan.gates(), approvals) == before


def test_no_environment_variable_makes_anyone_the_author(demo_stack, monkeypatch):
    first = plan_stack(demo_stack).plan
    monkeypatch.setenv("MGC_IAC_AUTHOR", "someone-else@example.com")
    second = plan_stack(demo_stack).plan
    assert plan_digest(second) == plan_digest(first)
    assert first.provenance.author is None and second.provenance.author is None
