"""mgc-iac: server migrations to Huawei Cloud declared as code.

The public Python API is the spec model (to write a `stack.py`) and a few entry points. Names are
resolved lazily so that `mgc-iac --help` does not import pydantic or the SDK.

    from mgc_iac import Stack, Metadata, Source, Disk, Workflow, WorkflowSource, TargetSpec
    stack = Stack(metadata=Metadata(name="demo", project="shop"), sources=[...], workflows=[...])
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
    # entry points
    "load_stack": "mgc_iac.stack.loader",
    "plan_stack": "mgc_iac.operations.planning",
    "Plan": "mgc_iac.plan.model",
    "Diagnostic": "mgc_iac.diagnostics",
    "MgcIacError": "mgc_iac.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mgc_iac' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
