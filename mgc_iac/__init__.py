"""mgc-iac: server migrations to Huawei Cloud declared as code.

The public Python API: the stack model (to write a `stack.py`) and the operations the CLI runs, over a
Workspace (mgc_iac.operations). Names are resolved lazily so that `mgc-iac --help` does not import pydantic or
the SDK.

    from mgc_iac import Stack, Metadata, Source, Disk, Workflow, WorkflowSource, TargetSpec
    stack = Stack(metadata=Metadata(name="demo", project="shop"), sources=[...], workflows=[...])

    from mgc_iac import ApplyRequest, Workspace, apply, open_for_apply, status, validate
    with Workspace.open("stacks/demo") as ws:
        assert validate(ws).valid
    with open_for_apply(Path("stacks/demo")) as ws:        # the stack's lock is held until the block ends
        applied = apply(ws, ApplyRequest(auto_approve=True), view)  # view: planned, confirm, progress, note
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # the spec model: everything a stack.py needs
    "Stack": "mgc_iac.stack.models",
    "Metadata": "mgc_iac.stack.models",
    "CloudConfig": "mgc_iac.stack.models",
    "Source": "mgc_iac.stack.models",
    "Disk": "mgc_iac.stack.models",
    "SSHAccess": "mgc_iac.stack.models",
    "JumpHost": "mgc_iac.stack.models",
    "SourceFacts": "mgc_iac.stack.models",
    "MigrationPlan": "mgc_iac.stack.models",
    "Workflow": "mgc_iac.stack.models",
    "WorkflowSource": "mgc_iac.stack.models",
    "NetworkSpec": "mgc_iac.stack.models",
    "Proxy": "mgc_iac.stack.models",
    "AgentDownload": "mgc_iac.stack.models",
    "TargetSpec": "mgc_iac.stack.models",
    "EncryptionSpec": "mgc_iac.stack.models",
    "AdvancedSpec": "mgc_iac.stack.models",
    "Notifications": "mgc_iac.stack.models",
    "VerificationPolicy": "mgc_iac.stack.models",
    "ServerOverride": "mgc_iac.stack.models",
    "DiskResize": "mgc_iac.stack.models",
    "ApprovalPolicy": "mgc_iac.stack.models",
    "Limits": "mgc_iac.stack.models",
    # loading and planning a stack from its path
    "load_stack": "mgc_iac.stack.loader",
    "plan_stack": "mgc_iac.operations",
    "Plan": "mgc_iac.plan.model",
    "Diagnostic": "mgc_iac.diagnostics",
    "MgcIacError": "mgc_iac.errors",
    # the operations (what each CLI command calls), over a Workspace; results are data
    "Workspace": "mgc_iac.operations",
    "validate": "mgc_iac.operations",
    "PlanRequest": "mgc_iac.operations",
    "open_for_plan": "mgc_iac.operations",
    "create_plan": "mgc_iac.operations:plan",
    "ApplyRequest": "mgc_iac.operations",
    "open_for_apply": "mgc_iac.operations",
    "apply": "mgc_iac.operations",
    "ApproveRequest": "mgc_iac.operations",
    "open_for_approve": "mgc_iac.operations",
    "approve": "mgc_iac.operations",
    "status": "mgc_iac.operations",
    "report": "mgc_iac.operations",
    "discover": "mgc_iac.operations",
    "retry": "mgc_iac.operations",
    "resync": "mgc_iac.operations",
    "unlock": "mgc_iac.operations",
    "export_state": "mgc_iac.operations",
    "migrate_state": "mgc_iac.operations",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'mgc_iac' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr or name)


def __dir__() -> list[str]:
    return __all__
