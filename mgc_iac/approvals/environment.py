"""The Trust that checks a stack's approvals in one environment (state backend id + cloud account, given) under the
approval policy in force (given too: the workspace reads the recorded one from the state: operations.planning)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mgc_iac.approvals.policy import Policy, allowed_signers_path, policy_of, signers_file
from mgc_iac.approvals.trust import Environment, Trust

__all__ = ["allowed_signers_path", "policy_of", "trust_in"]


def trust_in(stack: str, env: Environment, policy: Policy, spec: dict[str, Any], stack_dir: Path | None) -> Trust:
    """The Trust of `policy` (its signers written where ssh-keygen reads them)."""
    from_spec = policy.source.startswith("the spec")
    label = str(allowed_signers_path(spec, stack_dir)) if from_spec and policy.signers else \
        f"the allowed signers {policy.source}"
    return Trust(stack, env, signers_file(policy.signers), policy.require_signatures, policy.rules(), label)
