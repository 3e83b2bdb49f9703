"""The files the tool ships beside its code: the demo stack, the JSON Schemas, the Pulumi project.

In the repository they stay where the project keeps them (stacks/, schemas/, Pulumi.yaml, pulumi_program/) and
this folder holds symlinks to them; the wheel holds the files themselves here. So one path works from a clone
and from `pip install mgc-iac`, and nothing is looked up relative to a source tree that an install lacks.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent


def demo_stack() -> Path:
    """The demo stack directory (read-only when installed: copy it before writing beside it)."""
    return DATA / "stacks" / "demo"


def schemas_dir() -> Path:
    """The committed JSON Schemas (stack, stack-part, plan, approvals)."""
    return DATA / "schemas"


def pulumi_project() -> tuple[Path, Path]:
    """Pulumi.yaml and the program directory its `main:` names."""
    return DATA / "Pulumi.yaml", DATA / "pulumi_program"
