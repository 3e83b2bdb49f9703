"""`init`, `validate` and `schema`: write a stack, check it, describe its format."""

from __future__ import annotations

from pathlib import Path

import click

from mgc_iac.cli._output import print_diagnostics

STACK_ARG = click.argument("stack", type=click.Path(path_type=Path))


@click.command("validate")
@STACK_ARG
@click.option("--refresh", is_flag=True,
              help="Also check the rules that need live facts (security group rules, KMS keys, subnets, sources).")
def validate_cmd(stack: Path, refresh: bool) -> None:
    """Check STACK (a directory of YAML files, or a stack.py) against every MgC rule.

    Offline by default: no credentials are needed, nothing is changed. Errors name the file, the line, the
    field and the fix; warnings never block. Exit code 0 when valid, 1 on any error.
    """
    from mgc_iac.operations.planning import check

    facts = _refresh_facts(stack) if refresh else None
    checked = check(stack, facts=facts)
    print_diagnostics(checked.diagnostics)
    if checked.diagnostics.has_errors:
        raise SystemExit(1)
    spec = checked.loaded.stack
    servers = len(spec.sources)
    click.echo(f"Stack `{spec.metadata.name}` is valid: {len(spec.workflows)} workflow(s), {servers} source(s).")


def _refresh_facts(stack: Path, *, remember: bool = True):  # -> LiveFacts
    """Live facts; `remember` keeps the KMS keys seen in the refresh cache beside the state (validate and apply:
    never plan, which writes nothing)."""
    from mgc_iac.operations.planning import state_path_for
    from mgc_iac.operations.refresh import gather_facts
    from mgc_iac.stack.known_keys import remember_keys
    from mgc_iac.stack.loader import load_stack

    loaded = load_stack(stack)
    facts = gather_facts(loaded)
    if remember:
        remember_keys(state_path_for(loaded), loaded.stack.metadata.name, facts.keys)  # for later offline checks
    return facts


@click.command("schema")
@click.argument("name", type=click.Choice(["stack", "stack-part", "plan", "approvals"]))
def schema_cmd(name: str) -> None:
    """Print the JSON Schema of a stack spec (stack-part: one file of a stack), a plan file or an approvals file."""
    from mgc_iac.operations.schema import schema_json

    click.echo(schema_json(name), nl=False)


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--name", help="Stack name (default: the directory's name).")
@click.option("--project", default="my-migration", show_default=True, help="MgC application migration project.")
def init_cmd(directory: Path, name: str | None, project: str) -> None:
    """Scaffold a stack in DIRECTORY that validates: edit the sources and the target, then `plan` it."""
    from mgc_iac.errors import UserError
    from mgc_iac.stack.scaffold import scaffold_stack

    if directory.exists() and any(directory.iterdir()):
        raise UserError(f"{directory} is not empty; choose a new directory")
    written = scaffold_stack(directory, name or directory.resolve().name, project)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"Next: edit {directory}/sources.yaml, then `mgc-iac validate {directory}` and "
               f"`mgc-iac plan {directory}`.")
