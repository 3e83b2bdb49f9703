"""Pieces the pipelines rely on: --max-wait durations, and the plan as one PR comment under GitHub's limit."""

from __future__ import annotations

import copy

import click
import pytest

from mgc_iac.cli._pipeline import Duration
from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.planfile import plan_digest
from mgc_iac.render import render_plan
from mgc_iac.render.comment import GITHUB_COMMENT_LIMIT, marker, pr_comment


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172800),
                                                ("45", 45)])
def test_durations(text, seconds):
    assert Duration().convert(text, None, None) == seconds


@pytest.mark.parametrize("text", ["", "10 minutes", "m", "1.5h", "-3s"])
def test_a_bad_duration_says_how_to_write_one(text):
    with pytest.raises(click.BadParameter, match="write it like 90s, 10m, 1h30m or 2d"):
        Duration().convert(text, None, None)


def _big_stack(base, workflows: int, per_workflow: int):
    data = copy.deepcopy(base)
    template_source, template_flow = data["sources"][0], data["workflows"][0]
    data["sources"], data["workflows"], data["migration_plans"] = [], [], []
    for w in range(workflows):
        for s in range(per_workflow):
            n = w * per_workflow + s
            data["sources"].append({**template_source, "name": f"srv-{n:05d}", "ip": f"192.168.{n >> 8}.{n & 255 or 1}",
                                    "mac": f"fa:16:3e:00:{n >> 8:02x}:{n & 255:02x}", "application": f"app-{w}"})
        data["workflows"].append({**template_flow, "name": f"wave-{w:03d}", "source": {"application": f"app-{w}"}})
    data["limits"] = {"max_concurrent_migrations": workflows * per_workflow}
    return data


def test_a_large_plan_fits_one_comment_with_its_summary_and_digest(base, make_stack):
    plan = plan_stack(make_stack(_big_stack(base, 40, 25))).plan
    digest = plan_digest(plan)
    markdown = render_plan(plan, "markdown", color=False, digest=digest)
    assert len(markdown) <= GITHUB_COMMENT_LIMIT and "workflow(s) are summarised" in markdown  # it had to fit
    body = pr_comment(plan, digest)
    assert len(body) <= GITHUB_COMMENT_LIMIT
    assert body.startswith(marker(plan.stack) + "\n")
    assert "| To create |" in body and digest in body  # the summary table and the digest always stay
    assert all(f"wave-{w:03d}" in body for w in range(40))  # every workflow named, none "not shown"
    assert pr_comment(plan, digest) == body  # the same plan gives the same comment (edited in place)
    small_plan = plan_stack(make_stack(_big_stack(base, 2, 2))).plan
    small = pr_comment(small_plan, plan_digest(small_plan))
    assert "summarised" not in small and small.count("<details><summary>Workflow <code>") == 2


def test_validate_goes_on_without_the_state_database_and_plan_refuses_clearly(demo_stack, monkeypatch):
    """A fork's pull request has no database secret: validate still checks the stack (and says what it could
    not check); plan, which needs the recorded state, stops with a clear error instead of planning from nothing."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MGC_IAC_STATE": "postgresql://mgc@127.0.0.1:1/migrations", "NO_COLOR": "1"}
    run = [sys.executable, "-m", "mgc_iac"]
    done = subprocess.run([*run, "validate", str(demo_stack)], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "the MACs of the other stacks were not checked" in done.stderr
    done = subprocess.run([*run, "plan", str(demo_stack)], env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "cannot reach the PostgreSQL state" in done.stderr
    assert "Traceback" not in done.stderr and "Plan:" not in done.stdout
