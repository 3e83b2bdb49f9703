"""The Pulumi program as an operation: what `pulumi up` runs (Pulumi.yaml -> pulumi_program/__main__.py -> `run`).

It opens the workspace of the stack named by `mgc-iac:stack` (loaded and checked once, the cloud resolved once: a
lab stack's lab found or started, and its SSH hosts when they serve the copy) and declares its graph as Pulumi
dynamic resources (mgc_iac.pulumi.program).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mgc_iac.pulumi import Declared


def init_project(directory: Path) -> list[Path]:
    """`mgc-iac pulumi init`: Pulumi.yaml and pulumi_program/ written into `directory`, naming this mgc-iac's
    virtualenv (Pulumi runs the program and the providers with it); the files written."""
    from mgc_iac.pulumi import current_virtualenv, write_project

    return list(write_project(directory, current_virtualenv()))


def declare(stack_dir: Path | str) -> Declared:
    """Load and check the stack at `stack_dir`, build its graph and declare it (the program's body)."""
    import pulumi

    from mgc_iac.errors import SpecError
    from mgc_iac.graph import build_graph
    from mgc_iac.operations._workspace import Workspace
    from mgc_iac.pulumi import TargetServer, declare_graph

    with Workspace.open(Path(stack_dir)) as ws:
        assert ws.checked is not None
        if ws.checked.diagnostics.has_errors:
            raise SpecError(ws.checked.diagnostics)
        declared = declare_graph(build_graph(ws.loaded.stack), ws.spec, ws.cloud_config)
        lab_hosts = ws.hosts.lab_hosts
        if lab_hosts is not None and lab_hosts.serve_copies():
            lab_hosts.inventory()  # the providers' creates start agents on them (found running, never started there)
    pulumi.export("mgc_iac_stack", declared.graph.stack)
    pulumi.export("target_server_ids", {a: r.id for a, r in declared.resources.items()
                                        if isinstance(r, TargetServer)})
    return declared


def run_program(project_root: Path) -> Declared:
    """The program's body under the Pulumi engine: declare the stack of `mgc-iac:stack`. An mgc-iac error
    becomes a `pulumi.RunError`, which the engine shows without a traceback: a broken stack fails with every
    `file:line: field: message; fix` line that `mgc-iac validate` prints, its warnings logged as warnings."""
    import pulumi

    from mgc_iac.errors import MgcIacError, SpecError
    from mgc_iac.pulumi import stack_dir_from_config

    try:
        return declare(stack_dir_from_config(project_root))
    except SpecError as exc:
        for warning in exc.diagnostics.warnings:
            pulumi.log.warn(warning.render())
        errors = exc.diagnostics.errors
        raise pulumi.RunError("\n".join([f"{len(errors)} error(s) in the stack spec:",
                                          *(d.render() for d in errors)])) from None
    except MgcIacError as exc:
        raise pulumi.RunError(str(exc)) from None
