"""Where each server of a stack stands: a pure function of the plan's step template and recorded state."""

from __future__ import annotations

from typing import Any

from mgc_iac.plan.model import Plan
from mgc_iac.state.model import Snapshot, StepStatus

FINISHED = (StepStatus.DONE, StepStatus.SKIPPED)


def stack_status(plan: Plan, snapshot: Snapshot) -> dict[str, Any]:
    """{stack, serial, workflows: [{name, servers: [{server, current_step, state, progress, ...}]}]}; a server
    whose consistency was verified has `verification: {clean, results: [{dir, total, different, missing,
    extra}]}` (from its VerifyConsistency step, done or failed)."""
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
                if record.status is StepStatus.QUEUED:
                    entry["queue_position"] = record.detail.get("queue_position")
                if record.status is StepStatus.FAILED:
                    entry["error"] = record.detail.get("error")
        checked = snapshot.steps.get(f"{server.address}/VerifyConsistency")
        if checked is not None and checked.detail.get("verification"):
            # {engine, by, mode, clean, results: [{dir, total, different, missing, extra}]}: which check ran
            entry["verification"] = {**checked.detail["verification"],
                                     "label": verification_label(checked.detail["verification"])}
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
