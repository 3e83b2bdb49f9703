"""`mgc-iac pr-comment PLAN_FILE`: the saved plan as one pull-request comment body (markdown, per-workflow detail
collapsed, a marker line to update the comment in place, under GitHub's 65,536-character limit)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("pr-comment")
@click.argument("plan_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--limit", type=click.IntRange(1000), default=65_536, show_default=True,
              help="Largest comment body in characters (GitHub's limit for one comment).")
@click.option("--full-plan", default="the job's artifacts", show_default=True,
              help="Where readers find the whole plan when workflows are left out.")
def pr_comment_cmd(plan_file: Path, limit: int, full_plan: str) -> None:
    """Print PLAN_FILE as one PR/MR comment body; its first line is a marker naming the stack, so a pipeline can
    find its earlier comment and edit it instead of posting another."""
    from mgc_iac.operations import pr_comment

    click.echo(pr_comment(plan_file, limit, full_plan), nl=False)
