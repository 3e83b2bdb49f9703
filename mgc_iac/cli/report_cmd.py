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
    from mgc_iac.cli.apply_cmds import _stack_dir_of, _store_for
    from mgc_iac.errors import ConfigError
    from mgc_iac.operations.planning import plan_stack, state_path_for
    from mgc_iac.render.report import build_report, render_report

    planned = plan_stack(stack)
    plan = planned.plan
    path = state_path_for(planned.checked.loaded)
    if "://" not in str(path) and not path.exists():
        raise ConfigError(f"no state is recorded for stack `{plan.stack}` at {path}: run `mgc-iac apply {stack}` "
                          "first (or set MGC_IAC_STATE to the state the migration used)")
    directory = _stack_dir_of(stack)
    store = _store_for(directory, plan.spec, read_only=True)
    try:
        report = build_report(plan, store.snapshot(plan.stack), store.journal(plan.stack),
                              store.approvals(plan.stack), stack_dir=str(stack))
    finally:
        store.close()
    html = render_report(report)
    if out is None:
        click.echo(html, nl=False)
        return
    out.write_text(html, encoding="utf-8")
    workflows = len(report.workflows)
    click.echo(f"Wrote {out}: {report.totals['servers']} server(s) in {workflows} workflow(s), "
               f"{report.totals['done']} migrated.")
