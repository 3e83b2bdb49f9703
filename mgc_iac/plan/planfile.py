"""Plan files: canonical JSON with a format_version and the plan's own digest.

The digest is sha256 over the canonical JSON of everything but `digest`, `provenance`, `drift`, `cost` and the
approval policy in force (`policy`; a change to it, `policy_change`, is digested): no timestamps, so the same spec
and state give the same digest, and an edited file is detected.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mgc_iac.errors import PlanFileError
from mgc_iac.plan.cost import cost_from_dict, cost_to_dict
from mgc_iac.plan.model import (
    FORMAT_VERSION,
    Action,
    Drift,
    Plan,
    Provenance,
    ResourceChange,
    ServerChange,
    StepAction,
    StepChange,
)

# drift is shown, not digested: its repairs are resource changes (digested), and what is only reported must not
# make a refreshed plan differ from an offline plan of the same spec and state (approvals bind to the digest);
# cost is a quote that changes when Huawei changes its prices (or cannot be reached): an approval binds to what
# runs, and `apply FILE` re-plans without asking for prices, so the digest never depends on them; policy: the one
# in force, shown (what the spec changes in it, policy_change, is digested)
UNDIGESTED = ("digest", "provenance", "drift", "cost", "policy")


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    body: dict[str, Any] = {
        "format_version": plan.format_version,
        "stack": plan.stack,
        "spec_digest": plan.spec_digest,
        "state_serial": plan.state_serial,
        "refreshed": plan.refreshed,
        "summary": plan.summary(),
        "workflow_order": list(plan.workflow_order),
        "resource_changes": [
            {"address": c.address, "kind": c.kind, "workflow": c.workflow, "server": c.server,
             "action": c.action.value, "before": c.before, "after": c.after, "changed": list(c.changed),
             "reasons": list(c.reasons), **({"moved_from": c.moved_from} if c.moved_from else {})}
            for c in plan.resource_changes
        ],
        "servers": [
            {"address": s.address, "workflow": s.workflow, "server": s.server, "target_name": s.target_name,
             "os": s.os, "used_gb": s.used_gb, "assumed_mbps": s.assumed_mbps,
             "estimated_seconds": s.estimated_seconds,
             "steps": [{"step": st.step, "action": st.action.value, "manual": st.manual, "reason": st.reason}
                       for st in s.steps]}
            for s in plan.server_changes
        ],
        "drift": [
            {"address": d.address, "kind": d.kind, "workflow": d.workflow, "server": d.server,
             "attribute": d.attribute, "recorded": d.recorded, "live": d.live, "effect": d.effect}
            for d in plan.drift
        ],
        "cost": cost_to_dict(plan.cost) if plan.cost is not None else None,
        "gates": plan.gates(),
        "policy": plan.policy,
        "policy_change": plan.policy_change,
        "diagnostics": list(plan.diagnostics),
        "spec": plan.spec,
    }
    body["digest"] = digest_of(body)
    body["provenance"] = {"git_commit": plan.provenance.git_commit, "author": plan.provenance.author,
                          "tool_version": plan.provenance.tool_version, "stack_dir": plan.provenance.stack_dir,
                          "signature": plan.provenance.signature}
    return body


def _canonical(body: dict[str, Any]) -> bytes:
    content = {k: v for k, v in body.items() if k not in UNDIGESTED}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(body: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()


def plan_digest(plan: Plan) -> str:
    return plan_to_dict(plan)["digest"]


def write_plan(plan: Plan, path: Path) -> str:
    """Write the plan file atomically; return its digest."""
    body = plan_to_dict(plan)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return body["digest"]


def read_plan_body(path: Path) -> dict[str, Any]:
    """The plan file's JSON as written (its digest checked), for comparing with a fresh plan."""
    read_plan(path)
    return json.loads(path.read_text(encoding="utf-8"))


def read_plan(path: Path) -> tuple[Plan, str]:
    """Read a plan file and check its (unkeyed) digest; return the plan and its digest.

    The digest only catches accidents: anyone can recompute it. A plan file is a proposal, never an authority:
    `apply FILE` re-plans the stack and applies only when the fresh plan's digest equals this one."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file; make one with `mgc-iac plan STACK --out {path}`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFileError(f"{path}: not a plan file ({exc})") from None
    if not isinstance(body, dict) or "format_version" not in body:
        raise PlanFileError(f"{path}: not a plan file (no format_version)")
    version = str(body["format_version"])
    if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise PlanFileError(f"{path}: plan format_version {version} is not supported by this mgc-iac (reads "
                            f"{FORMAT_VERSION.split('.')[0]}.x); make the plan again with this version")
    recorded = body.get("digest")
    actual = digest_of(body)
    if recorded != actual:
        raise PlanFileError(f"{path}: the plan was edited after it was made (digest {recorded} does not match its "
                            f"content {actual}); make a new plan instead of editing one")
    try:
        return _plan_from_dict(body), actual
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"{path}: malformed plan file ({exc})") from None


def _plan_from_dict(body: dict[str, Any]) -> Plan:
    prov = body.get("provenance") or {}
    return Plan(
        stack=body["stack"],
        spec_digest=body["spec_digest"],
        state_serial=int(body["state_serial"]),
        resource_changes=tuple(
            ResourceChange(c["address"], c["kind"], c["workflow"], c["server"], Action(c["action"]), c["before"],
                           c["after"], tuple(c["changed"]), tuple(c["reasons"]), c.get("moved_from"))
            for c in body["resource_changes"]),
        server_changes=tuple(
            ServerChange(s["workflow"], s["server"], s["target_name"], s["os"], s["used_gb"], s["assumed_mbps"],
                         s["estimated_seconds"],
                         tuple(StepChange(st["step"], StepAction(st["action"]), st["manual"], st["reason"])
                               for st in s["steps"]))
            for s in body["servers"]),
        workflow_order=tuple(body["workflow_order"]),
        diagnostics=tuple(body["diagnostics"]),
        spec=body["spec"],
        refreshed=bool(body["refreshed"]),
        drift=tuple(Drift(d["address"], d["kind"], d["workflow"], d["server"], d["attribute"], d["recorded"],
                          d["live"], d["effect"]) for d in body.get("drift", ())),  # absent before 1.1
        cost=cost_from_dict(body["cost"]) if body.get("cost") else None,  # absent before 1.2
        provenance=Provenance(prov.get("git_commit"), prov.get("author"), prov.get("tool_version", ""),
                              prov.get("stack_dir"), prov.get("signature")),
        policy=body.get("policy"),  # absent before 1.3
        policy_change=body.get("policy_change"),
        format_version=body["format_version"],
    )
