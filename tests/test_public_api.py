"""The public Python API is a fixed list of names (a stack.py depends on them): changing it is deliberate."""

from __future__ import annotations

import subprocess
import sys

import mgc_iac

PUBLIC = {
    "AdvancedSpec", "AgentDownload", "ApprovalPolicy", "CloudConfig", "Diagnostic", "Disk", "DiskResize",
    "EncryptionSpec", "JumpHost", "Limits", "Metadata", "MgcIacError", "MigrationPlan", "NetworkSpec",
    "Notifications", "Plan", "Proxy", "SSHAccess", "ServerOverride", "Source", "SourceFacts", "Stack",
    "TargetSpec", "VerificationPolicy", "Workflow", "WorkflowSource", "load_stack", "plan_stack",
}


def test_exported_names_are_pinned():
    assert set(mgc_iac.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(mgc_iac, name) is not None


def test_help_does_not_import_the_sdk_pulumi_or_pydantic():
    code = ("import sys, mgc_iac.cli as c; c.cli.main(['--help'], standalone_mode=False); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('huaweicloudsdkcore', 'pulumi', 'pydantic', 'asyncssh', 'aiohttp')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]"
