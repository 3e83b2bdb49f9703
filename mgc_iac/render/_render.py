"""The render entry points: pick a template, hand it the plan regrouped per workflow, return the string."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import jinja2

from mgc_iac.diagnostics import Diagnostic, Severity
from mgc_iac.plan import POLICY_GATE, Plan, plan_digest, plan_to_dict
from mgc_iac.render import _cost as cost
from mgc_iac.render import filters as f
from mgc_iac.render._drift import drift_effect, drift_value
from mgc_iac.render._facts import approval_rule, resource_facts
from mgc_iac.render._fit import Comment, fit_markdown
from mgc_iac.render._mermaid import flowchart, waves_chart
from mgc_iac.render._view import (
    as_diagnostic,
    detail_groups,
    diagnostics_of,
    gate_views,
    has_work,
    named_changes,
    schedule_view,
    step_counts,
    workflow_counts,
    workflow_views,
)
from mgc_iac.visible import Painted, json_visible, visible

FORMATS = ("text", "markdown", "json")
TEMPLATES = {"text": "plan.txt.j2", "markdown": "plan.md.j2"}
COMMENT_LIMIT = 65_536  # characters GitHub accepts in one issue or pull-request comment
OPEN_DETAILS_UP_TO = 10  # per-server details shown open up to this many servers, collapsed above


def render_plan(plan: Plan, fmt: str = "text", *, color: bool = False, digest: str | None = None,
                show_noop: bool = False, approved: Mapping[str, Any] | None = None) -> str:
    """The plan as text (ANSI colour only when `color`), markdown or JSON; ends with a newline.

    `digest` (the plan file's) is printed when given; markdown computes it when not, for its footer.
    `show_noop` also lists unchanged resources and servers with nothing to run. `approved`: gate ->
    approvals.status.GateApproval for the gates that pass at the next apply (said instead of "waits")."""
    if fmt == "json":
        return json_visible(json.dumps(plan_to_dict(plan), indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
    if fmt not in TEMPLATES:
        raise ValueError(f"unknown plan format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if fmt == "markdown" and digest is None:
        digest = plan_digest(plan)
    context = _context(plan, fmt, color=color, digest=digest, show_noop=show_noop, approved=approved)
    if fmt == "text":
        return _template("plan.txt.j2").render(**context).rstrip("\n") + "\n"
    return _fit(context, COMMENT_LIMIT, None)


def _context(plan: Plan, fmt: str, *, color: bool, digest: str | None, show_noop: bool,
             approved: Mapping[str, Any] | None) -> dict[str, Any]:
    workflows = workflow_views(plan, show_noop)
    return {"plan": plan, "summary": plan.summary(), "workflows": workflows, "warnings": diagnostics_of(plan),
            "digest": digest, "color": color and fmt == "text", "show_noop": show_noop, "gates": gate_views(plan),
            "approval_rule": approval_rule(plan.spec, plan.provenance.author, plan.policy),
            "policy_change": plan.policy_change, "policy_gate": POLICY_GATE, "schedule": schedule_view(plan),
            "approved": dict(approved or {})}


def render_comment(plan: Plan, digest: str, marker: str, *, limit: int = COMMENT_LIMIT,
                   full_plan: str = "the job's artifacts",
                   approved: Mapping[str, Any] | None = None) -> str:
    """The plan as ONE PR/MR comment body of at most `limit` characters: a marker line naming the stack (so a
    pipeline edits its comment in place), each workflow folded under a summary naming it with its counts, and
    the same fitting as the markdown plan (mgc_iac/render/_fit.py), done once on the plan."""
    context = _context(plan, "markdown", color=False, digest=digest, show_noop=False, approved=approved)
    return _fit(context, limit, Comment(marker, full_plan))


def _fit(context: dict[str, Any], limit: int, comment: Comment | None) -> str:
    detailed = [g.key for wf in context["workflows"] for g in detail_groups(wf)]
    return fit_markdown(_template("plan.md.j2"), _template("workflow.md.j2"), context, limit=limit,
                        open_details=len(detailed) <= OPEN_DETAILS_UP_TO, comment=comment, cut=f.cut_markdown)


def render_diagnostics(diags: Iterable[Diagnostic | dict[str, Any]], *, color: bool = False) -> str:
    """Errors then warnings, one `severity: file:line: path: message; fix` line each, then a count line."""
    items = [as_diagnostic(d) for d in diags]
    items.sort(key=lambda d: d.severity is not Severity.ERROR)  # stable: file order kept within a severity
    text = _template("diagnostics.txt.j2").render(
        diagnostics=items, color=color,
        errors=sum(1 for d in items if d.severity is Severity.ERROR),
        warnings=sum(1 for d in items if d.severity is Severity.WARNING))
    return text.rstrip("\n") + "\n"


def _template(name: str) -> jinja2.Template:
    return _env().get_template(name)


@jinja2.pass_context
def _paint(ctx: jinja2.runtime.Context, text: object, role: str) -> str:
    return f.paint(text, role, bool(ctx.get("color")))


def _visible(value: object) -> object:
    """What every `{{ ... }}` prints: control characters escaped, except in text paint() escaped and coloured."""
    if value is None or isinstance(value, Painted | bool | int | float):
        return value
    return visible(value)


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mgc_iac.render", "templates"),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        autoescape=False,  # plain text and markdown; markdown cells are escaped by md_cell
        finalize=_visible,  # every value shows its control characters escaped (mgc_iac/visible.py)
    )
    env.filters.update(
        paint=_paint, symbol=f.SYMBOLS.__getitem__, emoji=f.EMOJI.__getitem__, step_label=f.STEP_LABELS.__getitem__,
        duration=f.human_duration, number=f.number, plural=f.plural, flowchart=flowchart,
        waves_chart=lambda s: waves_chart(s.depends_on, s.waves),
        md=f.md_cell, code=f.md_code, details=f.md_details, mdtext=f.md_text, pieces=f.md_pieces,
        facts=resource_facts, target_label=f.target_label, groups=detail_groups,
        drift_value=drift_value, drift_effect=drift_effect, counts=workflow_counts, named_changes=named_changes,
        money=cost.money, billed_for=cost.billed_for,
        server_change=cost.server_change, cost_symbol=cost.SYMBOLS.__getitem__)
    env.globals.update(summary_line=f.summary_line, leaf_change=f.leaf_change, has_work=has_work,
                       step_counts=step_counts, leaf_value=f.leaf_value, sums_line=cost.sums_line,
                       markdown_servers=cost.MARKDOWN_SERVERS)
    return env
