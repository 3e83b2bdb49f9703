"""`init`, `validate` and `schema`: parse, call the operation (mgc_iac.operations), render its result."""

from __future__ import annotations

from pathlib import Path

import click

from mgc_iac.cli._output import emit, format_option, print_diagnostics

# the documents of `--format json` (schemas/output/<kind>.schema.json); listed here so --help needs no imports
OUTPUT_KINDS = ("validation", "apply-event", "apply-result", "approval", "approval-check", "journal",
                "lab-messages", "discovery", "status", "status-change", "error")
STACK_ARG = click.argument("stack", type=click.Path(path_type=Path))


@click.command("validate")
@STACK_ARG
@click.option("--refresh", is_flag=True,
              help="Also check the rules that need live facts (security group rules, KMS keys, subnets, sources).")
@format_option("one `validation` document on stdout: valid, counts of errors and warnings, workflows, sources, "
               "and every diagnostic (severity, message, file, line, path, rule, fix) "
               "(schemas/output/validation.schema.json). A stack that does not load at all is an `error` document "
               "with its diagnostics.")
def validate_cmd(stack: Path, refresh: bool, fmt: str) -> None:
    """Check STACK (a directory of YAML files, or a stack.py) against every MgC rule.

    Offline by default: no credentials are needed, nothing is changed. Errors name the file, the line, the
    field and the fix; warnings never block. Exit code 0 when valid, 1 on any error.
    """
    from mgc_iac.operations import Workspace, validate

    with Workspace.open(stack, refresh_facts=refresh) as ws:
        checked = validate(ws)
    if fmt == "json":
        from mgc_iac.render import validation

        emit(validation(checked.stack, checked.diagnostics, checked.workflows, checked.sources))
        raise SystemExit(0 if checked.valid else 1)
    print_diagnostics(checked.diagnostics)
    if not checked.valid:
        raise SystemExit(1)
    click.echo(f"Stack `{checked.stack}` is valid: {checked.workflows} workflow(s), {checked.sources} source(s).")


@click.command("schema")
@click.argument("name", type=click.Choice(["stack", "stack-part", "plan", "approvals", *OUTPUT_KINDS]))
def schema_cmd(name: str) -> None:
    """Print the JSON Schema of a stack spec (stack-part: one file of a stack), a plan file or an approvals file,
    or of a document that `--format json` prints (validation, apply-event, apply-result, approval, ...,
    error; schemas/output/)."""
    from mgc_iac.operations import schema_json

    click.echo(schema_json(name), nl=False)


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--name", help="Stack name (default: the directory's name).")
@click.option("--project", default="my-migration", show_default=True, help="MgC application migration project.")
def init_cmd(directory: Path, name: str | None, project: str) -> None:
    """Scaffold a stack in DIRECTORY that validates: edit the sources and the target, then `plan` it."""
    from mgc_iac.operations import init_stack

    written = init_stack(directory, name, project)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"Next: edit {directory}/sources.yaml, then `mgc-iac validate {directory}` and "
               f"`mgc-iac plan {directory}`.")
