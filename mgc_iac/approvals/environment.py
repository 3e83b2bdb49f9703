"""The environment approvals are bound to, and the Trust that checks them, for one stack as the CLI sees it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mgc_iac.approvals.policy import Policy, allowed_signers_path, in_force, policy_of, signers_file
from mgc_iac.approvals.trust import Environment, Trust
from mgc_iac.errors import ConfigError
from mgc_iac.state.store import StateStore

__all__ = ["allowed_signers_path", "cloud_account", "policy_of", "trust_for", "trust_in"]


def cloud_account(spec: dict[str, Any], stack_dir: Path | None) -> str:
    """provider/region/project_id of the cloud the stack migrates into (no credential needed to tell)."""
    cloud = spec.get("cloud") or {}
    provider = cloud.get("provider", "lab")
    region = cloud.get("region", "cn-north-4")
    if provider == "huaweicloud":
        project = os.environ.get("HUAWEICLOUD_SDK_PROJECT_ID")
        if not project:
            raise ConfigError("set HUAWEICLOUD_SDK_PROJECT_ID to the project the stack migrates into: approvals "
                              "are signed for one cloud account/project")
        return f"huaweicloud/{region}/{project}"
    from mgc_iac.cloud.endpoint import cloud_config, settings_for

    settings = settings_for(cloud_config(spec, stack_dir))  # the lab's own project id (it starts when needed)
    return f"{provider}/{settings.region}/{settings.project_id}"


def trust_for(stack: str, spec: dict[str, Any], stack_dir: Path | None, store: StateStore, *,
              trusted_ref: str | None = None) -> Trust:
    """How `stack`'s approvals are checked against this state backend and this cloud account, under the approval
    policy in force: recorded at the last apply (or the stack at a trusted ref), never the change under review."""
    recorded = store.last_applied(stack)
    return trust_in(stack, Environment(store.environment_id(), cloud_account(spec, stack_dir)),
                    in_force(recorded.policy if recorded else None, spec, stack_dir,
                             trusted_ref or os.environ.get("MGC_IAC_TRUSTED_REF") or None), spec, stack_dir)


def trust_in(stack: str, env: Environment, policy: Policy, spec: dict[str, Any], stack_dir: Path | None) -> Trust:
    """The Trust of `policy` (its signers written where ssh-keygen reads them)."""
    from_spec = policy.source.startswith("the spec")
    label = str(allowed_signers_path(spec, stack_dir)) if from_spec and policy.signers else \
        f"the allowed signers {policy.source}"
    return Trust(stack, env, signers_file(policy.signers), policy.require_signatures, policy.rules(), label)
