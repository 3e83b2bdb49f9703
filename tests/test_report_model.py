"""The report's data from recorded state: step times from the journal, bytes and speed of the copy, gates
approved in state or in Git (approvals.yaml), failed attempts with what to do. No browser here: see
tests/e2e/test_report.py for the page in Chromium."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from mgc_iac.operations._planning import plan_stack
from mgc_iac.render.report import build_report, render_report
from mgc_iac.state import ApprovalRecord, JournalEntry, Snapshot, StepRecord, StepStatus
from mgc_iac.state.model import RecordedResources

DEMO = Path(__file__).resolve().parents[1] / "stacks" / "demo"
WF = "shop-wave-1"


def _at(second: int) -> str:
    return f"2026-12-01T10:{second // 60:02d}:{second % 60:02d}Z"


def test_report_data_from_steps_journal_and_approvals(tmp_path: Path) -> None:
    plan = plan_stack(shutil.copytree(DEMO, tmp_path / "demo")).plan
    steps, journal = {}, []
    seq = iter(range(1, 1000))

    def ran(server: str, step: str, start: int, end: int, status: StepStatus = StepStatus.DONE, **detail) -> None:
        gate = f"{WF}/{server}/{step}"
        journal.append(JournalEntry(next(seq), "demo", gate, "before", _at(start), {"attempt": 1}))
        journal.append(JournalEntry(next(seq), "demo", gate, "after" if status is StepStatus.DONE else "failed",
                                    _at(end), {"attempt": 1}))
        steps[gate] = StepRecord(WF, server, step, status, 1, detail)

    ran("web-01", "CreateTarget", 0, 30)
    ran("web-01", "StartUpAgent", 30, 40)
    ran("web-01", "StartMigration", 40, 140, replicated_bytes=500_000_000, total_bytes=500_000_000)
    ran("web-01", "StartSynchronization", 140, 150)
    ran("web-01", "VerifyConsistency", 150, 152, verification={"engine": "mgc-iac", "mode": "hash", "clean": True,
                                                                "results": [
        {"dir": "/srv", "total": 10, "different": 0, "missing": 0, "extra": 0}]})
    ran("web-01", "BusinessValidation", 200, 200, approved_by=["bob@example.com", "carol@example.com"],
        signed_by=["carol@example.com"], plan_digest="sha256:" + "b" * 64)
    steps[f"{WF}/web-01/Cutover"] = StepRecord(WF, "web-01", "Cutover", StepStatus.WAITING, 0,
                                               {"needs": "2 approval(s)"})
    ran("db-01", "CreateTarget", 0, 5, StepStatus.FAILED, error="quota exceeded for flavor s6.xlarge.2")
    approvals = [ApprovalRecord(f"{WF}/web-01/BusinessValidation", "bob@example.com", "sha256:" + "b" * 64,
                                _at(190), "cli")]
    snapshot = Snapshot("demo", 17, RecordedResources(), steps)
    report = build_report(plan, snapshot, journal, approvals, stack_dir="stacks/demo",
                          generated_at=datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    [wf] = report.workflows
    web, db = wf.servers
    assert (web.state, db.state) == ("waiting", "failed")
    migration = next(r for r in web.steps if r.step == "StartMigration")
    assert migration.seconds == 100 and migration.status == "done"
    assert web.bytes_moved == 500_000_000 and web.average_speed == 5_000_000  # over the copy that moved them
    assert web.verification["results"][0]["dir"] == "/srv"
    # bob approved with `mgc-iac approve` (in state); carol in approvals.yaml (counted when the gate opened)
    # bob's `--by` approval is unsigned; carol's approvals.yaml entry carried a verified SSH signature
    assert [(a.step, a.approver, a.via, a.signed) for a in web.approvals] == [
        ("BusinessValidation", "bob@example.com", "cli", False),
        ("BusinessValidation", "carol@example.com", "approvals file", True)]
    [failure] = db.failures
    assert failure.error == "quota exceeded for flavor s6.xlarge.2" and failure.current
    assert failure.advice.startswith("fix the cause, then `mgc-iac retry stacks/demo shop-wave-1/db-01`")
    assert report.totals == {"servers": 2, "done": 0, "bytes_moved": 500_000_000, "failures": 1, "approvals": 2}
    page = render_report(report)
    assert "Generated 2026-12-01 11:00:00 UTC" in page and "serial 17" in page
    assert "quota exceeded for flavor s6.xlarge.2" in page and "carol@example.com" in page
    assert "mgc-iac's own verification (hash), computed over SSH on the source and the target" in page
    assert "<td>bob@example.com</td><td>unsigned</td>" in page
    assert "<td>carol@example.com</td><td>signed (SSH, verified)</td>" in page
    assert "Verification: clean" in page


def test_a_verification_that_compared_no_file_reads_nothing_compared_and_is_not_clean(tmp_path: Path) -> None:
    """0 files compared proves nothing: "nothing compared", never "clean" (even a record that said clean)."""
    from mgc_iac.engine.status import stack_status

    plan = plan_stack(shutil.copytree(DEMO, tmp_path / "demo")).plan
    empty = {"clean": True, "results": [{"dir": "/srv", "total": 0, "different": 0, "missing": 0, "extra": 0}]}
    steps = {f"{WF}/web-01/VerifyConsistency": StepRecord(WF, "web-01", "VerifyConsistency", StepStatus.FAILED, 1,
                                                          {"verification": empty})}
    snapshot = Snapshot("demo", 3, RecordedResources(), steps)
    [web] = [s for wf in stack_status(plan, snapshot)["workflows"] for s in wf["servers"] if s["server"] == "web-01"]
    assert web["verification"]["verdict"] == "nothing compared" and web["verification"]["clean"] is False
    report = build_report(plan, snapshot, [], [], stack_dir="stacks/demo",
                          generated_at=datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    page = render_report(report)
    assert "Verification: nothing compared" in page and "Verification: clean" not in page
