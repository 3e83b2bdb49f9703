"""A Pulumi project for an installed mgc-iac (`mgc-iac pulumi init DIR`): Pulumi.yaml and its program entry.

The repository is itself a Pulumi project (Pulumi.yaml at its root). An install from the wheel has no such
root, so this writes the same two files, shipped in mgc_iac/data, into a directory of the user's, with the
virtualenv that runs mgc-iac named in Pulumi.yaml (Pulumi runs the program and the providers with it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from mgc_iac.data import pulumi_project
from mgc_iac.errors import UserError


def current_virtualenv() -> Path | None:
    """The virtualenv this Python runs in (None: a system Python)."""
    return Path(sys.prefix) if sys.prefix != sys.base_prefix else None


def write_project(directory: Path, virtualenv: Path | None = None) -> list[Path]:
    """Pulumi.yaml (runtime python, `virtualenv`, main: pulumi_program/) and pulumi_program/__main__.py."""
    project_file, program_dir = pulumi_project()
    target_project = directory / "Pulumi.yaml"
    target_main = directory / "pulumi_program" / "__main__.py"
    for path in (target_project, target_main):
        if path.exists():
            raise UserError(f"{path} exists; `mgc-iac pulumi init` writes only new files")
    doc = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    options = doc["runtime"].setdefault("options", {})
    if virtualenv is not None:
        options["virtualenv"] = str(virtualenv)
    else:
        options.pop("virtualenv", None)
    target_main.parent.mkdir(parents=True, exist_ok=True)
    header = ("# The Pulumi project of an installed mgc-iac (`mgc-iac pulumi init`): its program declares the stack\n"
              "# named by `pulumi config set mgc-iac:stack DIR` (relative to this file) as Pulumi dynamic resources.\n")
    target_project.write_text(header + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    target_main.write_text((program_dir / "__main__.py").read_text(encoding="utf-8"), encoding="utf-8")
    return [target_project, target_main]
