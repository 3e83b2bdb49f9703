"""Approvals of manual gates: the approvals.yaml file, state approvals, signatures and the apply requirements."""

from mgc_iac.approvals.loader import APPROVALS_FILE, approvals_path, load_approvals_file
from mgc_iac.approvals.model import ApprovalEntry, ApprovalsFile
from mgc_iac.approvals.policy import Policy, settle
from mgc_iac.approvals.requirements import (
    OVERRIDE_CHECKS,
    Approval,
    Refusal,
    author_unknown_note,
    check_approval,
    check_overriders,
    check_requirements,
    combine,
    gate_approvers,
)
from mgc_iac.approvals.resume import evidence, evidence_of, unverified_passes
from mgc_iac.approvals.trust import Environment, Trust, approval_message, plan_message

__all__ = ["APPROVALS_FILE", "OVERRIDE_CHECKS", "Approval", "ApprovalEntry", "ApprovalsFile", "Environment",
           "Policy", "Refusal", "Trust", "approval_message", "approvals_path", "author_unknown_note", "check_approval",
           "check_overriders", "check_requirements", "combine", "evidence", "evidence_of", "gate_approvers",
           "load_approvals_file", "plan_message", "settle", "unverified_passes"]
