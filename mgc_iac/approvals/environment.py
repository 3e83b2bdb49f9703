"""The Trust that checks a stack's approvals in one environment (state backend id + cloud account, given) under the
approval policy in force (given too: the workspace reads the recorded one from the state: operations.planning)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mgc_iac.approvals.policy import Policy, allowed_signers_path, in_force, policy_of, signers_file
from mgc_iac.approvals.trust import Environment, Trust

__all__ = ["allowed_signers_path", "policy_of", "trust_for", "trust_in"]


def trust_for(stack: str, spec: dict[str, Any], stack_dir: Path | None, *, environment_id: str, account: str,
              recorded_policy: dict[str, Any] | None, trusted_ref: str | None = None) -> Trust:
    """How `stack`'s approvals are checked against one state backend (`environment_id`) and one cloud account
    (`account`: provider/region/project), both given, under the approval policy in force: `recorded_policy` (the
    last apply's, read from the state by the caller) or the stack at `trusted_ref`, never the change under review."""
    return trust_in(stack, Environment(environment_id, account),
                    in_force(recorded_policy, spec, stack_dir, trusted_ref), spec, stack_dir)


def trust_in(stack: str, env: Environment, policy: Policy, spec: dict[str, Any], stack_dir: Path | None) -> Trust:
    """The Trust of `policy` (its signers written where ssh-keygen reads them)."""
    from_spec = policy.source.startswith("the spec")
    label = str(allowed_signers_path(spec, stack_dir)) if from_spec and policy.signers else \
        f"the allowed signers {policy.source}"
    return Trust(stack, env, signers_file(policy.signers), policy.require_signatures, policy.rules(), label)
