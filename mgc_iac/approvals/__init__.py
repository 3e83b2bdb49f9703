"""Approvals of manual gates: the approvals.yaml file, state approvals, and the apply requirements."""

from mgc_iac.approvals.loader import APPROVALS_FILE, approvals_path, load_approvals_file
from mgc_iac.approvals.model import ApprovalEntry, ApprovalsFile
from mgc_iac.approvals.requirements import (
    Approval,
    Refusal,
    check_approval,
    check_requirements,
    combine,
    gate_approvers,
)

__all__ = ["APPROVALS_FILE", "Approval", "ApprovalEntry", "ApprovalsFile", "Refusal", "approvals_path",
           "check_approval", "check_requirements", "combine", "gate_approvers", "load_approvals_file"]
