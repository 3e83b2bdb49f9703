"""Approvals of manual gates: the approvals.yaml file, state approvals, signatures and the apply requirements."""

from mgc_iac.approvals.loader import APPROVALS_FILE, approvals_path, load_approvals_file
from mgc_iac.approvals.model import ApprovalEntry, ApprovalsFile
from mgc_iac.approvals.requirements import (
    OVERRIDE_CHECKS,
    Approval,
    Refusal,
    check_approval,
    check_overriders,
    check_requirements,
    combine,
    gate_approvers,
)
from mgc_iac.approvals.trust import Environment, Trust, approval_message, plan_message

__all__ = ["APPROVALS_FILE", "OVERRIDE_CHECKS", "Approval", "ApprovalEntry", "ApprovalsFile", "Environment",
           "Refusal", "Trust", "approval_message", "approvals_path", "check_approval", "check_overriders",
           "check_requirements", "combine", "gate_approvers", "load_approvals_file", "plan_message"]
