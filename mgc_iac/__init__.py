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
    "Stack": "mgc_iac.spec.models",
    "Metadata": "mgc_iac.spec.models",
    "CloudConfig": "mgc_iac.spec.models",
    "Source": "mgc_iac.spec.models",
    "Disk": "mgc_iac.spec.models",
    "SSHAccess": "mgc_iac.spec.models",
    "JumpHost": "mgc_iac.spec.models",
    "SourceFacts": "mgc_iac.spec.models",
    "MigrationPlan": "mgc_iac.spec.models",
    "Workflow": "mgc_iac.spec.models",
    "WorkflowSource": "mgc_iac.spec.models",
    "NetworkSpec": "mgc_iac.spec.models",
    "Proxy": "mgc_iac.spec.models",
    "AgentDownload": "mgc_iac.spec.models",
    "TargetSpec": "mgc_iac.spec.models",
    "EncryptionSpec": "mgc_iac.spec.models",
    "AdvancedSpec": "mgc_iac.spec.models",
    "Notifications": "mgc_iac.spec.models",
    "VerificationPolicy": "mgc_iac.spec.models",
    "ServerOverride": "mgc_iac.spec.models",
    "DiskResize": "mgc_iac.spec.models",
    "ApprovalPolicy": "mgc_iac.spec.models",
    "Limits": "mgc_iac.spec.models",
    # entry points
    "load_stack": "mgc_iac.spec.loader",
    "plan_stack": "mgc_iac.planning",
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
