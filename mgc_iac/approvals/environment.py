"""The Trust that checks a stack's approvals in one environment (state backend id + cloud account, given)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mgc_iac.approvals.trust import Environment, Trust
from mgc_iac.errors import ConfigError
from mgc_iac.stack.models import ApprovalPolicy
from mgc_iac.state.store import StateStore


def policy_of(spec: dict[str, Any]) -> ApprovalPolicy:
    return ApprovalPolicy.model_validate((spec or {}).get("approvals") or {})


def allowed_signers_path(spec: dict[str, Any], stack_dir: Path | None) -> Path | None:
    """The stack's allowed_signers file (approvals.allowed_signers, relative to the stack dir), checked to exist."""
    configured = policy_of(spec).allowed_signers
    if configured is None:
        return None
    path = Path(configured).expanduser()
    if not path.is_absolute():
        path = (stack_dir or Path.cwd()) / path
    if not path.is_file():
        raise ConfigError(f"approvals.allowed_signers: {path} does not exist; create it with one line per approver "
                          "(`PRINCIPAL ssh-ed25519 AAAA...`, see README: Signed approvals) and commit it")
    return path


def trust_for(stack: str, spec: dict[str, Any], stack_dir: Path | None, store: StateStore, *, account: str) -> Trust:
    """How `stack`'s approvals are checked against this state backend and this cloud account (`account`:
    provider/region/project, which the workspace resolves; approvals never resolve a cloud)."""
    policy = policy_of(spec)
    provider = (spec.get("cloud") or {}).get("provider", "lab")
    return Trust(stack, Environment(store.environment_id(), account),
                 allowed_signers_path(spec, stack_dir), policy.signatures_required(provider))
