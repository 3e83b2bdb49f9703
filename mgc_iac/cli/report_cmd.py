"""`mgc-iac report STACK --out report.html`: the migration report for people outside the terminal."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the HTML page to this file (default: standard output).")
def report_cmd(stack: Path, out: Path | None) -> None:
    """Write one self-contained HTML page on STACK's migration: per workflow and server the timeline of steps
    (start, end, duration), bytes copied and average speed, verification per directory, who approved which
    gate and when, and what failed with what to do about it.

    Built from the recorded state (step records, journal, approvals) without changing it; it needs no cloud.
    """
    from mgc_iac.operations import open_for_report, report

    with open_for_report(stack) as ws:
        made = report(ws, str(stack))
    if out is None:
        click.echo(made.html, nl=False)
        return
    out.write_text(made.html, encoding="utf-8")
    workflows = len(made.report.workflows)
    click.echo(f"Wrote {out}: {made.report.totals['servers']} server(s) in {workflows} workflow(s), "
               f"{made.report.totals['done']} migrated.")
