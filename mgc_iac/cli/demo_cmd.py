"""`mgc-iac demo`: the README's main job — the demo migration on the embedded lab, start to finish.

It walks the path a platform team walks, with the real commands: validate, plan (saved, with its monthly
cost from the lab's price list), apply (stops at TestValidation: a clone of each target was launched and
checked), approve, apply (stops at BusinessValidation), approve, apply (stops at Cutover), approve, apply
(done), status with the verification and check results, the HTML report (report.html), and the SMN messages
the lab received. State, lab and the stack's copy (with the cutover rehearsal of STACK/rehearsal/workflow.yaml
added to its workflows) live in a work directory that is reset first, so the demo can be run again and again.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from mgc_iac.data import demo_stack

DEMO = demo_stack()


def _run(args: list[str]) -> int:
    """Run one mgc-iac command in this process; its exit code (errors propagate as in the real CLI)."""
    cli = click.get_current_context().find_root().command  # the `mgc-iac` group this command runs under

    click.secho(f"\n$ mgc-iac {' '.join(args)}", bold=True)
    try:
        cli.main(args, prog_name="mgc-iac", standalone_mode=False)
    except SystemExit as exc:
        if exc.code == 130:  # Ctrl-C in a step: stop the demo too, with the same exit code
            raise
        return int(exc.code or 0)
    return 0


def _working_copy(stack: Path, copy: Path) -> Path:
    shutil.copytree(stack, copy, ignore=shutil.ignore_patterns(".mgc-iac", "*.tmp"))
    return copy


def _rehearsed(stack: Path) -> bool:
    """Add STACK/rehearsal/workflow.yaml's fields (test launch, automated checks) to every workflow of the copy
    that sets none; True when there was a rehearsal to add."""
    import yaml

    extra, workflows = stack / "rehearsal" / "workflow.yaml", stack / "workflows.yaml"
    if not extra.is_file() or not workflows.is_file():
        return False
    fields = yaml.safe_load(extra.read_text(encoding="utf-8")) or {}
    text = workflows.read_text(encoding="utf-8")
    doc = yaml.safe_load(text) or {}
    for wf in doc.get("workflows") or []:
        for key, value in fields.items():
            wf.setdefault(key, value)
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    workflows.write_text(header + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    click.secho(f"The demo rehearses the cutover: {', '.join(sorted(fields))} from {extra.name} added to "
                f"{workflows}", fg="cyan")
    return True


def _expect(code: int, wanted: int, what: str) -> None:
    if code != wanted:
        raise click.ClickException(f"the demo expected exit code {wanted} {what}, got {code}")
    click.secho(f"(exit code {code}: {what})", fg="cyan")


@click.command("demo")
@click.option("--stack", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The stack to migrate (default: a copy of the demo stack shipped with mgc-iac, in WORKDIR).")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False), default=Path(".mgc-iac/demo"),
              show_default=True, help="Where the demo keeps its state and its lab (reset first).")
@click.option("--keep", is_flag=True, help="Leave the lab running afterwards (see `mgc-iac lab status`).")
@click.option("--approver", default="demo-reviewer@example.com", show_default=True)
def demo_cmd(stack: Path | None, workdir: Path, keep: bool, approver: str) -> None:
    """Run the demo migration on the embedded lab: plan, apply, stop at each gate, approve, finish, verify."""
    from mgc_iac.operations.lab import check_tools, down

    if stack is not None and not (stack / "stack.yaml").exists() and not (stack / "stack.py").exists():
        raise click.ClickException(f"no stack at {stack}: give a stack directory (stack.yaml or stack.py), or "
                                   "leave --stack out for the demo stack")
    check_tools()  # before anything is reset or started: a missing tool is named at once
    lab_dir = workdir / "lab"
    if lab_dir.exists():
        down(lab_dir)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    os.environ["MGC_IAC_STATE"] = str((workdir / "state.db").resolve())
    os.environ["MGC_IAC_LAB_DIR"] = str(lab_dir.resolve())
    stack = _working_copy(stack or DEMO, workdir / "stack")  # the installed demo may be read-only
    rehearsed = _rehearsed(stack)
    plan_file = workdir / "plan.json"
    try:
        _expect(_run(["validate", str(stack)]), 0, "the stack is valid")
        # the demo's state is new by design (its workdir was just emptied): said, so a CI job runs it too
        _expect(_run(["plan", str(stack), "--out", str(plan_file), "--new-state"]), 0,
                "the plan, with its monthly cost, is saved for review")
        first = "TestValidation (a clone of each target runs, checked)" if rehearsed else "BusinessValidation"
        _expect(_run(["apply", str(plan_file), "--stack-dir", str(stack), "--new-state"]), 3,
                f"every server waits at {first}")
        click.secho("\nNote: the demo approves with `--by NAME`, UNSIGNED: its lab stack sets no "
                    "approvals.allowed_signers, so its policy does not require signatures. Real stacks sign "
                    "(`mgc-iac approve --key`, README: Signed approvals); huaweicloud stacks always do.", fg="yellow")
        if rehearsed:
            _expect(_run(["approve", str(stack), "--all-waiting", "--by", approver]), 0, "the test is approved")
            _expect(_run(["apply", str(stack), "--auto-approve"]), 3,
                    "the clones are deleted; every server waits at BusinessValidation, checked again")
        _expect(_run(["approve", str(stack), "--all-waiting", "--by", approver]), 0, "business validation approved")
        _expect(_run(["apply", str(stack), "--auto-approve"]), 3, "every server waits at Cutover")
        _expect(_run(["approve", str(stack), "--all-waiting", "--by", approver]), 0, "cutover approved")
        _expect(_run(["apply", str(stack), "--auto-approve"]), 0, "the migration is done")
        _expect(_run(["status", str(stack)]), 0, "where every server stands, with its verification")
        _expect(_run(["report", str(stack), "--out", str(workdir / "report.html")]), 0,
                "the migration report, one HTML page to hand on")
        _run(["lab", "messages"])  # last: the SMN notifications the workflow sent (checkpoints, success)
    finally:
        if not keep:
            down(lab_dir)
    click.secho(f"\nThe demo is complete. State: {workdir / 'state.db'}; run `mgc-iac demo --keep` to explore "
                "the lab afterwards.", fg="green")
