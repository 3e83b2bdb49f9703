"""`plan` and `show`: parse, call the operation (mgc_iac.operations._plan), render the plan."""

from __future__ import annotations

from pathlib import Path

import click

from mgc_iac.cli._output import format_option, print_diagnostics, use_color
from mgc_iac.cli._pipeline import new_state_option

FORMAT = format_option("the plan document on stdout, as a plan file holds it: stack, digest, resource changes, "
                       "each server's steps, drift, cost (schemas/plan.schema.json).", ("text", "markdown", "json"),
                       lead="text for terminals, markdown for a PR comment. ")


@click.command("plan")
@click.argument("stack", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Save the plan file (JSON) for `apply FILE`.")
@FORMAT
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 2 with changes, 1 on error.")
@click.option("--refresh", is_flag=True,
              help="Read the cloud first: the live facts the rules need (cloud and sources), and every recorded "
                   "resource, so the plan shows what changed outside mgc-iac and repairs it.")
@click.option("--drift-exitcode", is_flag=True,
              help="Read the cloud (implies --refresh) and exit 2 when it changed outside mgc-iac, else 0: a "
                   "scheduled drift check.")
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: on a terminal).")
@click.option("--sign-key", type=click.Path(path_type=Path, dir_okay=False),
              help="Sign the plan as its author (SSH key, or the .pub of an ssh-agent key; the principal comes from "
                   "approvals.allowed_signers), in the plan file. approvals.allow_plan_author: false then excludes "
                   "you once `apply FILE` records it.")
@click.option("--cost/--no-cost", default=True, show_default=True,
              help="Show the monthly on-demand price of what the plan creates and deletes, from Huawei's BSS price "
                   "inquiry (a lab stack: the lab's prices). Never fails the plan: without credentials or an answer "
                   "within 10 s it says \"price unknown\". Not part of the digest.")
@new_state_option("plan against an empty state")
def plan_cmd(stack: Path, out: Path | None, fmt: str, detailed_exitcode: bool, refresh: bool,
             drift_exitcode: bool, color: bool | None, sign_key: Path | None, cost: bool, new_state: bool) -> None:
    """Diff STACK against its recorded state and print the plan a reviewer approves.

    Offline unless --refresh: no credentials needed, so a pull request from a fork can be planned. With
    --refresh the plan first lists what changed outside mgc-iac (recorded -> live) and plans its repair;
    --detailed-exitcode then exits 2 when only drift is found (a scheduled drift check). The plan
    lists resources to create/update/replace/delete/forget and each server's steps (run, wait-for-approval,
    skip, done). With --out the plan is saved with its digest; `apply FILE` applies exactly that plan and
    refuses it if the state changed since. Plan never writes the state: it opens it read-only (a role with
    SELECT only is enough) and runs a stack.py fenced (README: "What a stack program may do").
    """
    from mgc_iac.diagnostics import Diagnostics
    from mgc_iac.operations import PlanRequest, open_for_plan, plan
    from mgc_iac.render import render_plan

    request = PlanRequest(out=out, refresh=refresh or drift_exitcode, sign_key=sign_key, cost=cost,
                          new_state=new_state)
    with open_for_plan(stack, request) as ws:
        made = plan(ws, request)
    if fmt != "json":  # the plan itself lists warnings; print them on stderr too for CI logs
        print_diagnostics(Diagnostics(made.warnings))
    click.echo(render_plan(made.plan, fmt, color=use_color() if color is None else color, digest=made.digest,
                           approved=made.planned.approved), nl=False)
    if out and fmt != "json":
        click.echo(f"Saved the plan to {out}. Apply exactly this plan with `mgc-iac apply {out}`.")
    if (detailed_exitcode and made.plan.has_changes) or (drift_exitcode and made.plan.drift):
        raise SystemExit(2)


@click.command("show")
@click.argument("plan_file", type=click.Path(path_type=Path))
@FORMAT
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: on a terminal).")
def show_cmd(plan_file: Path, fmt: str, color: bool | None) -> None:
    """Render a saved plan file (refused if it was edited or has an unknown format_version)."""
    from mgc_iac.operations import show_plan
    from mgc_iac.render import render_plan

    shown = show_plan(plan_file)
    click.echo(render_plan(shown.plan, fmt, color=use_color() if color is None else color, digest=shown.digest),
               nl=False)
