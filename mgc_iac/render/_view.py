"""The plan regrouped the way a reviewer reads it: per workflow, resources then servers. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mgc_iac.diagnostics import Diagnostic, Severity
from mgc_iac.plan import POLICY_GATE, Action, Plan, ResourceChange, ServerChange, StepAction


@dataclass(frozen=True)
class TemplateStep:
    """One step of a workflow's template, as the mermaid chart draws it."""

    step: str
    manual: bool
    skipped: bool  # skipped for every server of the workflow
    partly_skipped: bool  # skipped for some servers only


@dataclass(frozen=True)
class WorkflowView:
    name: str
    changes: tuple[ResourceChange, ...]  # shown changes (no-ops only when asked)
    hidden_noops: int
    servers: tuple[ServerChange, ...]
    template: tuple[TemplateStep, ...]
    bandwidth_limit_mbps: int | None
    in_spec: bool  # False when only removed resources of a deleted workflow remain

    @property
    def gates(self) -> list[str]:
        return [g for s in self.servers for g in s.gates()]


def workflow_views(plan: Plan, show_noop: bool = False) -> list[WorkflowView]:
    changes: dict[str, list[ResourceChange]] = {}
    for change in plan.resource_changes:
        changes.setdefault(change.workflow, []).append(change)
    servers: dict[str, list[ServerChange]] = {}
    for server in plan.server_changes:
        servers.setdefault(server.workflow, []).append(server)
    limits = _bandwidth_limits(plan.spec)
    removed = sorted(set(changes) - set(plan.workflow_order))
    views = []
    for name in (*plan.workflow_order, *removed):
        all_changes = changes.get(name, [])
        # a no-op with a reason (a cut-over target ignoring a change) is news to the reviewer: always shown
        shown = tuple(c for c in all_changes
                      if show_noop or c.action is not Action.NOOP or c.reasons or c.moved_from)
        wf_servers = tuple(servers.get(name, ()))
        views.append(WorkflowView(name, shown, len(all_changes) - len(shown), wf_servers, _template(wf_servers),
                                  limits.get(name), name in plan.workflow_order))
    return views


def has_work(server: ServerChange) -> bool:
    return any(st.action in (StepAction.RUN, StepAction.WAIT) for st in server.steps)


def step_counts(server: ServerChange) -> dict[str, int]:
    counts = {a.value: 0 for a in StepAction}
    for st in server.steps:
        counts[st.action.value] += 1
    return counts


def diagnostics_of(plan: Plan) -> list[Diagnostic]:
    """The plan's warnings (stored as dicts in the plan file) back as Diagnostic values."""
    return [as_diagnostic(d) for d in plan.diagnostics]


def as_diagnostic(item: Diagnostic | dict[str, Any]) -> Diagnostic:
    if isinstance(item, Diagnostic):
        return item
    return Diagnostic(Severity(item.get("severity", "warning")), str(item.get("message", "")),
                      path=item.get("path") or "", fix=item.get("fix") or "", file=item.get("file"),
                      line=item.get("line"), rule=item.get("rule") or "")


def _template(servers: tuple[ServerChange, ...]) -> tuple[TemplateStep, ...]:
    if not servers:
        return ()
    out = []
    for index, first in enumerate(servers[0].steps):
        skipped = sum(1 for s in servers if s.steps[index].action is StepAction.SKIP)
        out.append(TemplateStep(first.step, first.manual, skipped == len(servers), 0 < skipped < len(servers)))
    return tuple(out)


def _bandwidth_limits(spec: dict[str, Any]) -> dict[str, int | None]:
    """Workflow -> its bandwidth limit, read from the canonical spec the plan carries (None = unlimited)."""
    limits: dict[str, int | None] = {}
    for wf in spec.get("workflows") or ():
        if isinstance(wf, dict) and "name" in wf:
            limits[wf["name"]] = (wf.get("advanced") or {}).get("bandwidth_limit_mbps")
    return limits


@dataclass(frozen=True)
class ScheduleView:
    """When the plan's workflows may cut over: their order (depends_on) and cutover windows. Display only."""

    waves: tuple[tuple[str, ...], ...]               # wave 1 first; empty when no workflow depends on another
    depends_on: dict[str, tuple[str, ...]]
    windows: dict[str, str]                          # workflow -> "sat 22:00 for 4h (Europe/Berlin); next: ..."


def schedule_view(plan: Plan, now: Any = None) -> ScheduleView:
    from mgc_iac.stack import (
        CutoverWindow,
        dependencies,
        describe,
        next_opening,
        open_window,
        summary,
        utc_now,
        wave_levels,
    )

    deps = dependencies(plan.spec or {})
    order = [w for w in plan.workflow_order if w in deps]
    waves = tuple(tuple(w) for w in wave_levels(order, deps)) if any(deps.values()) else ()
    moment = now or utc_now()
    windows = {}
    for wf in (plan.spec or {}).get("workflows") or ():
        if isinstance(wf, dict) and wf.get("cutover_window"):
            window = CutoverWindow.model_validate(wf["cutover_window"])
            current = open_window(window, moment)
            when = (f"open now, until {describe(current[1], window)}" if current else
                    f"next: {describe(next_opening(window, moment), window)}")
            windows[wf["name"]] = f"{summary(window)}; {when}"
    return ScheduleView(waves, {k: tuple(v) for k, v in deps.items() if v}, windows)


@dataclass(frozen=True)
class GateView:
    gate: str      # workflow/server/step
    reason: str    # what the reviewer checks before approving


def gate_views(plan: Plan) -> list[GateView]:
    """Every gate the plan stops at, in plan order."""
    views = [GateView(f"{s.address}/{st.step}", st.reason) for s in plan.server_changes for st in s.steps
             if st.action is StepAction.WAIT]
    if plan.policy_widens:
        views.append(GateView(POLICY_GATE, "the approval policy change above, approved under the policy in force"))
    return views


_KIND_ORDER = {"target_server": 0, "migration_task": 1}  # a reviewer reads the target before its task


@dataclass(frozen=True)
class DetailGroup:
    """The detail a reviewer opens for one server (its target and task), or a workflow's own resources."""

    key: str                               # workflow/server, or workflow
    title: str                             # "web-01 → web-01-hw"
    changes: tuple[ResourceChange, ...]


def detail_groups(wf: WorkflowView) -> list[DetailGroup]:
    from mgc_iac.render.filters import detailed

    targets = {s.server: s.target_name for s in wf.servers}
    groups: dict[str, list[ResourceChange]] = {}
    for change in wf.changes:
        if detailed(change):
            groups.setdefault(change.server or "", []).append(change)
    out = []
    for server, changes in groups.items():
        title = (f"{server} → {targets[server]}" if server in targets else server) if server else \
            f"workflow {wf.name}"
        changes.sort(key=lambda c: _KIND_ORDER.get(c.kind, len(_KIND_ORDER)))
        out.append(DetailGroup(f"{wf.name}/{server}" if server else wf.name, title, tuple(changes)))
    return out


def workflow_counts(wf: WorkflowView, approved: Any = None) -> str:
    """The workflow's counts in one line: changes by action, steps to run, gates (approved ones said)."""
    actions = [a for a in Action if a is not Action.NOOP]
    by_action = {a: sum(1 for c in wf.changes if c.action is a) for a in actions}
    parts = [f"{n} to {a.value}" for a, n in by_action.items() if n]
    moves = sum(1 for c in wf.changes if c.moved_from)
    if moves:
        parts.append(f"{moves} to move")
    steps = sum(1 for s in wf.servers for st in s.steps if st.action is StepAction.RUN)
    gates = wf.gates
    done = sum(1 for g in gates if approved and g in approved)
    tail = [f"{len(wf.servers)} server(s)", f"{steps} step(s) to run"]
    if gates:
        tail.append(f"{len(gates)} gate(s)" + (f", {done} approved" if done else ""))
    return ", ".join(parts or ["no resource changes"]) + " · " + ", ".join(tail)


_NAMED = (Action.REPLACE, Action.DELETE, Action.FORGET)


def named_changes(wf: WorkflowView) -> list[tuple[Action, list[ResourceChange]]]:
    """The changes a summarised workflow still lists by name: every replace, delete and forget."""
    return [(a, items) for a in _NAMED if (items := [c for c in wf.changes if c.action is a])]
