"""The PR comment shows every workflow (issue 22, point 6), at 10, 300 and 3,000 servers: the fitting happens
once, on the plan model (mgc_iac/render/_fit.py); under GitHub's 65,536 characters every workflow is named with
its counts and every replace and delete is listed by name, even where creates are only counted."""

from __future__ import annotations

import copy
import inspect
from dataclasses import replace

import pytest

from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.model import Action, Plan
from mgc_iac.plan.planfile import plan_digest
from mgc_iac.render import render_plan
from mgc_iac.render._view import workflow_counts, workflow_views
from mgc_iac.render.comment import GITHUB_COMMENT_LIMIT, marker, pr_comment


def _stack(base, servers: int) -> dict:
    """`servers` sources in workflows of at most 100 (the MgC limit), each its own application."""
    data = copy.deepcopy(base)
    source, flow = data["sources"][0], data["workflows"][0]
    data["sources"], data["workflows"], data["migration_plans"] = [], [], []
    per = min(100, servers)
    for n in range(servers):
        w = n // per
        data["sources"].append({**source, "name": f"srv-{n:05d}", "ip": f"192.168.{n >> 8}.{n & 255 or 1}",
                                "mac": f"fa:16:3e:00:{n >> 8:02x}:{n & 255:02x}", "application": f"app-{w}"})
        if n % per == 0:
            data["workflows"].append({**flow, "name": f"wave-{w:03d}", "source": {"application": f"app-{w}"}})
    data["limits"] = {"max_concurrent_migrations": min(servers, 1000)}  # more queue: a warning, not an error
    return data


def _with_replaces_and_deletes(plan: Plan) -> Plan:
    """Every 7th target replaced (its encryption changed) and every 11th deleted: what a reviewer must see."""
    changes = []
    for n, c in enumerate(plan.resource_changes):
        if c.kind == "target_server" and n % 7 == 0:
            c = replace(c, action=Action.REPLACE, before=c.after, reasons=("encryption changed",))
        elif c.kind == "target_server" and n % 11 == 0:
            c = replace(c, action=Action.DELETE, before=c.after, after=None)
        changes.append(c)
    return replace(plan, resource_changes=tuple(changes))


@pytest.mark.parametrize("servers", [10, 300, 3000])
def test_every_workflow_is_named_with_its_counts_and_every_replace_and_delete_by_name(base, make_stack, servers):
    plan = _with_replaces_and_deletes(plan_stack(make_stack(_stack(base, servers))).plan)
    digest = plan_digest(plan)
    named = [c.address for c in plan.resource_changes if c.action in (Action.REPLACE, Action.DELETE)]
    assert named and len(plan.workflow_order) == max(1, servers // 100)
    for body in (render_plan(plan, "markdown", digest=digest), pr_comment(plan, digest)):
        assert len(body) <= GITHUB_COMMENT_LIMIT
        for wf in workflow_views(plan):
            assert f"`{wf.name}`" in body or f"<code>{wf.name}</code>" in body
            counts = workflow_counts(wf)
            assert counts in body, (wf.name, counts)
        missing = [a for a in named if f"`{a}`" not in body]
        assert not missing, missing[:5]
        assert "Truncated" not in body and f"Plan digest `{digest}`" in body
        assert body.count("<details") == body.count("</details>") and body.count("```") % 2 == 0
    comment = pr_comment(plan, digest)
    assert comment.startswith(marker(plan.stack) + "\n")
    if servers == 10:  # small: everything in full, nothing left out
        assert "left out" not in comment and "summarised" not in comment
    if servers == 3000:  # creates only counted, yet every workflow and every replace/delete is there
        assert "workflow(s) are summarised" in comment and "the full plan is in the job's artifacts" in comment


def test_the_comment_is_fitted_on_the_plan_not_by_re_parsing_markdown():
    """pr_comment takes the plan (and its digest), not a rendered markdown text to cut apart."""
    assert list(inspect.signature(pr_comment).parameters)[:2] == ["plan", "digest"]
