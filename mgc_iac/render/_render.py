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
from mgc_iac.render import _filters as f
from mgc_iac.render._drift import drift_effect, drift_value
from mgc_iac.render._mermaid import flowchart
from mgc_iac.render._view import as_diagnostic, diagnostics_of, has_work, step_counts, workflow_views

FORMATS = ("text", "markdown", "json")
TEMPLATES = {"text": "plan.txt.j2", "markdown": "plan.md.j2"}


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
    text = _env().get_template(TEMPLATES[fmt]).render(
        plan=plan, summary=plan.summary(), workflows=workflow_views(plan, show_noop),
        warnings=diagnostics_of(plan), digest=digest, color=color and fmt == "text", show_noop=show_noop)
    return text.rstrip("\n") + "\n"


def render_diagnostics(diags: Iterable[Diagnostic | dict[str, Any]], *, color: bool = False) -> str:
    """Errors then warnings, one `severity: file:line: path: message; fix` line each, then a count line."""
    items = [as_diagnostic(d) for d in diags]
    items.sort(key=lambda d: d.severity is not Severity.ERROR)  # stable: file order kept within a severity
    text = _env().get_template("diagnostics.txt.j2").render(
        diagnostics=items, color=color,
        errors=sum(1 for d in items if d.severity is Severity.ERROR),
        warnings=sum(1 for d in items if d.severity is Severity.WARNING))
    return text.rstrip("\n") + "\n"


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
        md=f.md_cell, code=f.md_code, details=f.md_details, drift_value=drift_value, drift_effect=drift_effect)
    env.globals.update(summary_line=f.summary_line, leaf_change=f.leaf_change, has_work=has_work,
                       step_counts=step_counts)
    return env
