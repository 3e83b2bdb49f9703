"""The approvals file (`approvals.yaml` in a stack directory, reviewed in Git like code)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# a server's manual step, or the stack-level gate of a widening approval policy change (plan.model.POLICY_GATE)
GATE_PATTERN = (r"^([a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*/"
                r"(ResizeDiskPartition|TestValidation|BusinessValidation|Cutover)|_stack/approvals/PolicyChange)$")


class ApprovalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gates: list[Annotated[str, Field(pattern=GATE_PATTERN)]] = Field(
        min_length=1, description="Gates approved: workflow/server/step (manual steps only).")
    by: str = Field(min_length=1, description="Who approves: with a signature, the principal allowed_signers maps "
                                              "the key to (checked); unsigned (lab stacks only), a name.")
    plan_digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$", description="The digest of the plan approved.")
    signature: str = Field("", description="Armored OpenSSH signature (`mgc-iac approve --key`, namespace "
                                           "mgc-iac-approval) over the gates, the plan digest and the environment.")
    override_checks: bool = Field(False, description="Pass the gates although their automated checks failed "
                                  "(`mgc-iac approve --override-checks`); covered by the signature.")
    comment: str = ""


class ApprovalsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    approvals: list[ApprovalEntry] = Field(default_factory=list)
