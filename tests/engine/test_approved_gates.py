"""What the plan says is what is (issue 22, point 7): once a waiting gate has its approvals, the next plan reads
"approved by X (signed/unsigned); runs at the next apply" instead of "waits for approval", in text and markdown;
a gate approved for another plan digest, or short of approvers, still waits."""

from __future__ import annotations

from mgc_iac.engine import CloudSteps
from mgc_iac.operations._planning import plan_stack
from mgc_iac.render import render_plan

from .helpers import apply, approve_waiting


def test_the_next_plan_shows_approved_gates_as_approved(stack_dir, store, cloud_cfg, lab, monkeypatch):
    # the plan checks approvals against the lab stack's account: the lab this test runs, not one at the default dir
    monkeypatch.setenv("MGC_IAC_LAB_DIR", str(lab.state_dir))
    assert apply(stack_dir, store, CloudSteps(cloud_cfg))[0].exit_code == 3  # BusinessValidation waits
    before = plan_stack(stack_dir, store=store)
    assert before.approved == {}
    assert "waits for approval of shop-wave-1/web-01/BusinessValidation" in render_plan(before.plan, "text")
    gates = approve_waiting(stack_dir, store, by="bob@example.com")
    assert sorted(gates) == ["shop-wave-1/db-01/BusinessValidation", "shop-wave-1/web-01/BusinessValidation"]

    after = plan_stack(stack_dir, store=store)
    assert sorted(after.approved) == sorted(gates)
    text = render_plan(after.plan, "text", approved=after.approved)
    assert "waits for approval of shop-wave-1/web-01/BusinessValidation" not in text
    assert "BusinessValidation    approved by bob@example.com (unsigned); runs at the next apply" in text
    assert "waits for approval of shop-wave-1/web-01/Cutover" in text  # not approved: still waits
    markdown = render_plan(after.plan, "markdown", approved=after.approved)
    assert "✅ BusinessValidation (approved by bob@example.com (unsigned); runs at the next apply)" in markdown
    assert "⏸ Cutover" in markdown
    # status says so too, in text and JSON
    from mgc_iac.engine.status import stack_status

    status = stack_status(after.plan, store.snapshot("demo"), approved=after.approved)
    web = next(s for wf in status["workflows"] for s in wf["servers"] if s["server"] == "web-01")
    assert web["approved"] == {"by": [{"name": "bob@example.com", "signed": False}],
                               "text": "approved by bob@example.com (unsigned); runs at the next apply"}
    # and it is true: the next apply runs them and stops at Cutover
    result = apply(stack_dir, store, CloudSteps(cloud_cfg))[0]
    assert result.exit_code == 3 and sorted(w.gate.rsplit("/", 1)[1] for w in result.waiting) == ["Cutover"] * 2
