"""`plan` and `show`: the reviewable diff of a stack against recorded state, and a saved plan rendered."""

from __future__ import annotations

from pathlib import Path

import click

from mgc_iac.cli._output import print_diagnostics, use_color

FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
                      show_default=True, help="text for terminals, markdown for a PR comment, json for machines.")


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
@click.option("--new-state", is_flag=True,
              help="In CI (CI set): plan against an empty state on purpose (a new backend). Without it, an empty "
                   "or missing state location is refused in CI.")
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
    from mgc_iac.operations.planning import plan_stack
    from mgc_iac.plan.planfile import plan_to_dict, write_plan
    from mgc_iac.render import render_plan

    if out is not None:
        check_plan_out(out, stack)
    refresh = refresh or drift_exitcode
    facts = None
    if refresh:
        from mgc_iac.cli.stack_cmds import _refresh_facts

        facts = _refresh_facts(stack, remember=False)  # plan writes nothing beside the state either
    planned = plan_stack(stack, facts=facts, refresh_resources=refresh, new_state=new_state)
    plan = planned.plan
    if cost:
        from mgc_iac.operations.pricing import price_plan

        plan = price_plan(plan, planned.checked.loaded.directory)
    if sign_key is not None:
        plan = _signed(plan, stack, sign_key)
    if fmt != "json":
        print_diagnostics(_only_warnings(planned))
    digest = write_plan(plan, out) if out else plan_to_dict(plan)["digest"]
    click.echo(render_plan(plan, fmt, color=use_color() if color is None else color, digest=digest,
                           approved=planned.approved), nl=False)
    if out and fmt != "json":
        click.echo(f"Saved the plan to {out}. Apply exactly this plan with `mgc-iac apply {out}`.")
    if (detailed_exitcode and plan.has_changes) or (drift_exitcode and plan.drift):
        raise SystemExit(2)


def _signed(plan, stack: Path, key: Path):  # -> Plan
    """The plan with its author's signature (over stack, spec digest and environment), in the plan only: plan
    never writes the state; `apply FILE` verifies the signature and records the author."""
    from dataclasses import replace

    from mgc_iac.approvals import plan_message
    from mgc_iac.approvals.environment import trust_for
    from mgc_iac.approvals.sshsig import PLAN_NAMESPACE, sign
    from mgc_iac.cli.apply_cmds import _stack_dir_of, _store_for
    from mgc_iac.errors import ApprovalError

    directory = _stack_dir_of(stack)
    store = _store_for(directory, plan.spec, read_only=True)
    try:
        trust = trust_for(plan.stack, plan.spec, directory, store)
        if trust.allowed_signers is None:
            raise ApprovalError("plan --sign-key needs approvals.allowed_signers in the stack (who may sign)")
        message = plan_message(plan.stack, plan.spec_digest, trust.environment)
        signature = sign(message, key, PLAN_NAMESPACE)
        principal = trust.principal(message, signature, PLAN_NAMESPACE)
    finally:
        store.close()
    return replace(plan, provenance=replace(plan.provenance, author=principal, signature=signature))


def check_plan_out(out: Path, stack: Path) -> None:
    """Refuse a --out that cannot or must not be written, before anything is planned or written."""
    from mgc_iac.errors import UserError

    stack_dir = (stack if stack.is_dir() else stack.parent).resolve()
    if out.is_dir():
        raise UserError(f"--out {out}: is a directory; plan: give a file name, e.g. --out {out / 'plan.json'}")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: directory {out.parent} does not exist; create it first "
                        f"(mkdir -p {out.parent}) or save the plan elsewhere")
    if out.resolve().parent == stack_dir or stack_dir in out.resolve().parents:
        raise UserError(f"--out {out}: is inside the stack directory {stack}, whose files are the spec; save the "
                        "plan next to it, e.g. --out plan.json")


def _only_warnings(planned):  # the plan itself lists warnings; print them on stderr too for CI logs
    from mgc_iac.diagnostics import Diagnostics

    return Diagnostics(list(planned.checked.diagnostics.warnings))


@click.command("show")
@click.argument("plan_file", type=click.Path(path_type=Path))
@FORMAT
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: on a terminal).")
def show_cmd(plan_file: Path, fmt: str, color: bool | None) -> None:
    """Render a saved plan file (refused if it was edited or has an unknown format_version)."""
    from mgc_iac.plan.planfile import read_plan
    from mgc_iac.render import render_plan

    plan, digest = read_plan(plan_file)
    click.echo(render_plan(plan, fmt, color=use_color() if color is None else color, digest=digest), nl=False)
