"""Approvals of manual gates: the approvals.yaml file, state approvals, signatures and the apply requirements."""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.approvals.environment": "allowed_signers_path policy_of trust_for",
    "mgc_iac.approvals.loader": "APPROVALS_FILE approvals_path load_approvals_file",
    "mgc_iac.approvals.model": "ApprovalEntry ApprovalsFile",
    "mgc_iac.approvals.policy": "Policy compare settle spec_policy strictest trusted_base",
    "mgc_iac.approvals.requirements": "Approval OVERRIDE_CHECKS Refusal author_unknown_note check_approval "
                                      "check_overriders check_requirements combine gate_approvers",
    "mgc_iac.approvals.review": "review_file",
    "mgc_iac.approvals.sshsig": "APPROVAL_NAMESPACE PLAN_NAMESPACE sign",
    "mgc_iac.approvals.status": "approved_gates",
    "mgc_iac.approvals.trust": "Environment Trust approval_message plan_message",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
