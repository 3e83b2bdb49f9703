"""The render entry points: pick a template, hand it the plan regrouped per workflow, return the string."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

import jinja2

from mgc_iac.diagnostics import Diagnostic, Severity
from mgc_iac.plan.model import Plan
from mgc_iac.plan.planfile import plan_digest, plan_to_dict
from mgc_iac.render import _cost as cost
from mgc_iac.render import filters as f
from mgc_iac.render._drift import drift_effect, drift_value
from mgc_iac.render._facts import approval_rule, resource_facts
from mgc_iac.render._mermaid import flowchart, waves_chart
from mgc_iac.render._view import (
    as_diagnostic,
    detail_groups,
    diagnostics_of,
    gate_views,
    has_work,
    schedule_view,
    step_counts,
    workflow_views,
)

FORMATS = ("text", "markdown", "json")
TEMPLATES = {"text": "plan.txt.j2", "markdown": "plan.md.j2"}
COMMENT_LIMIT = 65_536  # characters GitHub accepts in one issue or pull-request comment
OPEN_DETAILS_UP_TO = 10  # per-server details shown open up to this many servers, collapsed above


def render_plan(plan: Plan, fmt: str = "text", *, color: bool = False, digest: str | None = None,
                show_noop: bool = False) -> str:
    """The plan as text (ANSI colour only when `color`), markdown or JSON; ends with a newline.

    `digest` (the plan file's) is printed when given; markdown computes it when not, for its footer.
    `show_noop` also lists unchanged resources and servers with nothing to run."""
    if fmt == "json":
        return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt not in TEMPLATES:
        raise ValueError(f"unknown plan format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if fmt == "markdown" and digest is None:
        digest = plan_digest(plan)
    workflows = workflow_views(plan, show_noop)
    context = {"plan": plan, "summary": plan.summary(), "workflows": workflows, "warnings": diagnostics_of(plan),
               "digest": digest, "color": color and fmt == "text", "show_noop": show_noop, "gates": gate_views(plan),
               "approval_rule": approval_rule(plan.spec, plan.provenance.author), "schedule": schedule_view(plan)}
    if fmt == "text":
        return _template("plan.txt.j2").render(**context).rstrip("\n") + "\n"
    return _fit_comment(context, [g.key for wf in workflows for g in detail_groups(wf)])


def _fit_comment(context: dict[str, Any], detailed: list[str]) -> str:
    """The markdown, under GitHub's comment limit: per-server detail collapsed for big plans, left out from the
    end when still too long, and the text cut at a line with a note as the last resort."""
    template = _template("plan.md.j2")
    open_details = len(detailed) <= OPEN_DETAILS_UP_TO

    def render(keep: int) -> str:
        omitted = len(detailed) - keep
        note = (f"Details of {omitted} of {len(detailed)} servers are left out to stay under GitHub's "
                f"{COMMENT_LIMIT:,}-character comment limit; `mgc-iac show PLAN_FILE` shows all of them.")
        return template.render(**context, detailed=set(detailed[:keep]), open_details=open_details,
                               omitted=omitted, omitted_note=note).rstrip("\n") + "\n"

    bare = render(0)
    if len(bare) > COMMENT_LIMIT:  # too big even without any detail: cut (one render, however big the plan)
        return f.cut_markdown(bare, COMMENT_LIMIT)
    if not detailed:
        return bare
    full = render(len(detailed))
    if len(full) <= COMMENT_LIMIT:
        return full
    # as many servers' details as the room left holds, at their average size, then fewer until it fits
    each = max(1.0, (len(full) - len(bare)) / max(len(detailed), 1))
    keep = min(len(detailed) - 1, int((COMMENT_LIMIT - len(bare)) / each))
    while keep > 0:
        text = render(keep)
        if len(text) <= COMMENT_LIMIT:
            return text
        keep = min(keep - 1, int(keep * 0.95))
    return bare


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


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mgc_iac.render", "templates"),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        autoescape=False,  # plain text and markdown; markdown cells are escaped by md_cell
    )
    env.filters.update(
        paint=_paint, symbol=f.SYMBOLS.__getitem__, emoji=f.EMOJI.__getitem__, step_label=f.STEP_LABELS.__getitem__,
        duration=f.human_duration, number=f.number, plural=f.plural, flowchart=flowchart,
        waves_chart=lambda s: waves_chart(s.depends_on, s.waves),
        md=f.md_cell, code=f.md_code, details=f.md_details, mdtext=f.md_text, pieces=f.md_pieces,
        facts=resource_facts, target_label=f.target_label, groups=detail_groups,
        drift_value=drift_value, drift_effect=drift_effect, money=cost.money, billed_for=cost.billed_for,
        server_change=cost.server_change, cost_symbol=cost.SYMBOLS.__getitem__)
    env.globals.update(summary_line=f.summary_line, leaf_change=f.leaf_change, has_work=has_work,
                       step_counts=step_counts, leaf_value=f.leaf_value, sums_line=cost.sums_line,
                       markdown_servers=cost.MARKDOWN_SERVERS)
    return env
