"""Where each server of a stack stands: a pure function of the plan's step template and recorded state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mgc_iac.engine.schedule import Waves, blocked_reason, window_allows, window_of
from mgc_iac.plan import Plan
from mgc_iac.stack import utc_now
from mgc_iac.state import Snapshot, StepStatus

FINISHED = (StepStatus.DONE, StepStatus.SKIPPED)


def verification_verdict(verification: dict[str, Any]) -> str:
    """"clean", "NOT clean", or "nothing compared" (0 files compared in every directory proves nothing: never
    clean). Read from the per-directory counts, so a record made before this rule reads right too."""
    rows = verification.get("results") or []
    if not any(r.get("total") for r in rows):
        return "nothing compared"
    return "clean" if verification.get("clean") else "NOT clean"


def with_verdict(verification: dict[str, Any]) -> dict[str, Any]:
    verdict = verification_verdict(verification)
    return {**verification, "clean": verdict == "clean", "verdict": verdict}


def stack_status(plan: Plan, snapshot: Snapshot, now: datetime | None = None,
                 approved: dict[str, Any] | None = None) -> dict[str, Any]:
    """{stack, serial, workflows: [{name, servers: [{server, current_step, state, progress, ...}]}]}; a server
    whose consistency was verified has `verification: {clean, results: [{dir, total, different, missing,
    extra}]}` (from its VerifyConsistency step, done or failed); a server of a wave that may not start yet has
    state `blocked` and `blocked_by` (what it waits for); a server at Cutover or SourceClear of a workflow with
    a cutover window has `window` (open until / next opening, at `now`); `checks: {gate step: [results]}` are
    the automated checks run before TestValidation and BusinessValidation."""
    now = now or utc_now()
    waves = Waves(plan)
    workflows: dict[str, list[dict[str, Any]]] = {name: [] for name in plan.workflow_order}
    for server in plan.server_changes:
        records = [snapshot.steps.get(f"{server.address}/{s.step}") for s in server.steps]
        enabled = [(s, r) for s, r in zip(server.steps, records, strict=True) if s.action.value != "skip"]
        finished = sum(1 for _, r in enabled if r is not None and r.status in FINISHED)
        current = next(((s, r) for s, r in enabled if r is None or r.status not in FINISHED), None)
        entry: dict[str, Any] = {"server": server.server, "target": server.target_name,
                                 "progress": f"{finished}/{len(enabled)}", "steps_done": finished,
                                 "steps_total": len(enabled)}
        if current is None:
            entry.update(current_step=None, state="done")
        else:
            step, record = current
            entry.update(current_step=step.step, state=record.status.value if record else "pending")
            if record is not None:
                if record.status is StepStatus.WAITING:
                    entry["gate"] = f"{server.address}/{step.step}"
                    entry["needs"] = record.detail.get("needs")
                    ok = (approved or {}).get(entry["gate"])  # approvals.status.GateApproval: enough approvals
                    if ok is not None:
                        entry["approved"] = {"by": [{"name": n, "signed": s} for n, s in ok.approvers],
                                             "text": ok.describe()}
                if record.status is StepStatus.QUEUED:
                    entry["queue_position"] = record.detail.get("queue_position")
                if record.status is StepStatus.FAILED:
                    entry["error"] = record.detail.get("error")
        blocked = waves.blocks(server, snapshot.steps)
        if blocked:
            entry.update(state="blocked", blocked_by=blocked_reason(server.workflow, blocked))
        if current is not None:
            answer = window_allows(window_of(plan, server.workflow), current[0].step, now)
            if answer.text:
                entry["window"] = answer.text
        checks = {step: r.detail["checks"] for step in ("TestValidation", "BusinessValidation")
                  if (r := snapshot.steps.get(f"{server.address}/{step}")) is not None and r.detail.get("checks")}
        if checks:
            entry["checks"] = checks
        checked = snapshot.steps.get(f"{server.address}/VerifyConsistency")
        if checked is not None and checked.detail.get("verification"):
            # {engine, by, mode, clean, verdict, results: [{dir, total, different, missing, extra}]}: which check
            # ran and what it found
            verification = checked.detail["verification"]
            entry["verification"] = {**with_verdict(verification), "label": verification_label(verification)}
        workflows.setdefault(server.workflow, []).append(entry)
    return {"stack": plan.stack, "serial": snapshot.serial,
            "workflows": [{"name": name, "servers": servers} for name, servers in workflows.items()]}


def verification_label(verification: dict[str, Any]) -> str:
    """Which verification ran, in words: mgc-iac's own (over SSH) or the SMS-Agent's own check."""
    mode = "hash" if verification.get("mode") == "hash" else "size and mtime"
    if verification.get("engine") == "mgc-iac":
        return f"mgc-iac's own verification ({mode}, over SSH)"
    if verification.get("engine") == "huawei-sms":
        return "the SMS-Agent's own check (size and mtime)" + (" - not applied: hash/excludes"
                                                               if verification.get("not_applied") else "")
    return "verification (engine not recorded)"
