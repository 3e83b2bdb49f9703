"""The Trust that checks a stack's approvals in one environment (state backend id + cloud account, given) under the
approval policy in force."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mgc_iac.approvals.policy import Policy, allowed_signers_path, in_force, policy_of, signers_file
from mgc_iac.approvals.trust import Environment, Trust
from mgc_iac.state.store import StateStore

__all__ = ["allowed_signers_path", "policy_of", "trust_for", "trust_in"]


def trust_for(stack: str, spec: dict[str, Any], stack_dir: Path | None, store: StateStore, *, account: str,
              trusted_ref: str | None = None) -> Trust:
    """How `stack`'s approvals are checked against this state backend and this cloud account (`account`:
    provider/region/project, which the workspace resolves: approvals never resolve a cloud), under the approval
    policy in force: recorded at the last apply (or the stack at a trusted ref), never the change under review."""
    recorded = store.last_applied(stack)
    return trust_in(stack, Environment(store.environment_id(), account),
                    in_force(recorded.policy if recorded else None, spec, stack_dir,
                             trusted_ref or os.environ.get("MGC_IAC_TRUSTED_REF") or None), spec, stack_dir)


def trust_in(stack: str, env: Environment, policy: Policy, spec: dict[str, Any], stack_dir: Path | None) -> Trust:
    """The Trust of `policy` (its signers written where ssh-keygen reads them)."""
    from_spec = policy.source.startswith("the spec")
    label = str(allowed_signers_path(spec, stack_dir)) if from_spec and policy.signers else \
        f"the allowed signers {policy.source}"
    return Trust(stack, env, signers_file(policy.signers), policy.require_signatures, policy.rules(), label)
