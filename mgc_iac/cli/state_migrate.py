"""`mgc-iac state migrate STACK --to URL|PATH [--all]`: copy a stack's state (or every stack of its backend) to
another backend, SQLite <-> PostgreSQL, verified record by record and by a re-plan against the copy."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("migrate")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--to", "destination", required=True, metavar="URL|PATH",
              help="The new backend: postgresql://USER@HOST:PORT/DB (password from PGPASSWORD, ~/.pgpass or a "
                   "service file) or a SQLite file.")
@click.option("--all", "all_stacks", is_flag=True, help="Copy every stack of STACK's backend, not only STACK.")
def migrate_cmd(stack: Path, destination: str, all_stacks: bool) -> None:
    """Copy STACK's recorded state to another backend, then show that a re-plan against it has no changes.

    The old backend is left as it was. Point the stack at the new one afterwards (`state: {url: ...}` in the
    stack, or MGC_IAC_STATE) and run `mgc-iac plan` there.
    """
    from mgc_iac.cli.apply_cmds import _stack_and_store
    from mgc_iac.errors import StateError
    from mgc_iac.operations.planning import plan_stack
    from mgc_iac.plan.planfile import plan_digest
    from mgc_iac.state import is_url, open_store
    from mgc_iac.state.migrate import copy_stacks, differences

    name, _spec, source = _stack_and_store(stack)
    try:
        target = open_store(destination if is_url(destination) else Path(destination).expanduser())
        try:
            stacks = source.stacks() if all_stacks else [name]
            if name not in stacks:
                stacks.append(name)
            copied = copy_stacks(source, target, stacks)
            wrong = differences(source, target, stacks)
            if wrong:
                raise StateError("the copy differs from the original in " + ", ".join(wrong))
            before = plan_stack(stack, store=source).plan
            after = plan_stack(stack, store=target).plan
            if plan_digest(before) != plan_digest(after):
                raise StateError(f"a plan of {stack} against the copy differs from one against the original")
        finally:
            target.close()
    finally:
        source.close()
    where = destination.split("?", 1)[0]
    for export in copied:
        click.echo(f"copied stack {export.stack}: serial {export.serial}, {len(export.resources)} resource(s), "
                   f"{len(export.steps)} step record(s), {len(export.journal)} journal entries")
    click.echo(f"re-plan of {name} against {where}: "
               + ("no changes" if not after.has_changes else "the same plan as against the old backend")
               + f" (digest {plan_digest(after)})")
    click.echo(f"Now point the stack at it: `state: {{url: {where}}}` in the stack, or MGC_IAC_STATE={where}")
