"""`mgc-iac pulumi init [DIR]`: a Pulumi project that declares mgc-iac stacks, for an installed mgc-iac."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.group("pulumi")
def pulumi_group() -> None:
    """Use mgc-iac stacks from Pulumi (its CLI and backends): README "Pulumi"."""


@pulumi_group.command("init")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=Path("."))
@click.option("--stack", "stack_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The mgc-iac stack the program declares (printed as the `pulumi config set` to run).")
def init_cmd(directory: Path, stack_dir: Path | None) -> None:
    """Write Pulumi.yaml and pulumi_program/ into DIRECTORY (default: here), with this mgc-iac's virtualenv."""
    from mgc_iac.operations import init_project

    for path in init_project(directory):
        click.echo(f"wrote {path}")
    stack = os.path.relpath(stack_dir.resolve(), directory.resolve()) if stack_dir else "STACK_DIR"
    click.echo("Next (the Pulumi CLI >= 3.274 on PATH, with its Python language host):\n"
               f"  cd {directory}\n  pulumi login --local && pulumi stack init dev\n"
               f"  pulumi config set mgc-iac:stack {stack}\n  pulumi preview --diff && pulumi up")
