"""The public Python API is a fixed list of names (a stack.py and scripts depend on them): changing it is deliberate.
The operations are the same functions the CLI calls (one per command), over a Workspace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mgc_iac

PUBLIC = {
    "AdvancedSpec", "AgentDownload", "ApprovalPolicy", "CloudConfig", "Diagnostic", "Disk", "DiskResize",
    "EncryptionSpec", "JumpHost", "Limits", "Metadata", "MgcIacError", "MigrationPlan", "NetworkSpec",
    "Notifications", "Plan", "Proxy", "SSHAccess", "ServerOverride", "Source", "SourceFacts", "Stack",
    "TargetSpec", "VerificationPolicy", "Workflow", "WorkflowSource", "load_stack", "plan_stack",
    # the operations
    "Workspace", "validate", "PlanRequest", "open_for_plan", "create_plan", "ApplyRequest", "open_for_apply", "apply",
    "ApproveRequest", "open_for_approve", "approve", "status", "report", "discover", "retry", "resync", "unlock",
    "export_state", "migrate_state",
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


def test_a_script_plans_with_the_operations_the_cli_runs(demo_stack, tmp_path):
    """A script (no CLI) validates and plans through the public API; the plan it saves is the one `mgc-iac plan`
    prints (same digest), and nothing is written to the state (a plan never creates it)."""
    import json
    import os

    with mgc_iac.Workspace.open(demo_stack) as ws:
        checked = mgc_iac.validate(ws)
        made = mgc_iac.create_plan(ws, mgc_iac.PlanRequest(out=tmp_path / "plan.json"))
    assert checked.valid and (checked.workflows, checked.sources) == (1, 2)
    assert made.saved == tmp_path / "plan.json" and made.plan.has_changes
    assert json.loads(made.saved.read_text())["digest"] == made.digest
    assert not Path(os.environ["MGC_IAC_STATE"]).exists()
    out = subprocess.run([sys.executable, "-m", "mgc_iac", "plan", str(demo_stack), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and json.loads(out.stdout)["digest"] == made.digest
