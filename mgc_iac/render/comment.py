"""The plan as ONE pull/merge-request comment: a marker line so a pipeline finds and updates its own comment in
place, each workflow folded (<details>) under a summary naming it with its counts, under the platform's size
limit (GitHub: 65,536 characters per comment body). The fitting is the markdown plan's, done once on the plan
model (mgc_iac/render/_fit.py): every workflow stays named with its counts, every replace and delete by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mgc_iac.plan import Plan

GITHUB_COMMENT_LIMIT = 65_536


def marker(stack: str) -> str:
    """The hidden first line that identifies this stack's plan comment (so it is edited, not posted again)."""
    return f"<!-- mgc-iac plan: {stack} -->"


def pr_comment(plan: Plan, digest: str, limit: int = GITHUB_COMMENT_LIMIT, full_plan: str = "the job's artifacts",
               approved: Mapping[str, Any] | None = None) -> str:
    """`plan` as a comment body of at most `limit` characters."""
    from mgc_iac.render._render import render_comment

    return render_comment(plan, digest, marker(plan.stack), limit=limit, full_plan=full_plan, approved=approved)
