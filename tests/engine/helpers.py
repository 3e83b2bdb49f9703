"""Small helpers shared by the engine tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mgc_iac.engine import ApplyResult, CloudSteps, Engine, EngineOptions, RecordingHooks
from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.model import Plan
from mgc_iac.plan.planfile import plan_digest
from mgc_iac.state import ApprovalRecord, StateStore


def current(stack_dir: Path, store: StateStore) -> tuple[Plan, str]:
    plan = plan_stack(stack_dir, store=store).plan
    return plan, plan_digest(plan)


def apply(stack_dir: Path, store: StateStore, runner: Any, **options: Any) -> tuple[ApplyResult, RecordingHooks]:
    plan, digest = current(stack_dir, store)
    hooks = RecordingHooks()
    opts = EngineOptions(replan_digest=lambda: current(stack_dir, store)[1], **options)
    return Engine(plan, digest, store, runner, hooks=hooks, options=opts).run(), hooks


def approve(store: StateStore, stack: str, gates: list[str], digest: str, by: str = "alice") -> None:
    with store.transaction(stack) as txn:
        for gate in gates:
            txn.add_approval(ApprovalRecord(gate, by, digest, "2026-01-01T00:00:00Z", "cli"))


def approve_waiting(stack_dir: Path, store: StateStore, by: str = "alice") -> list[str]:
    """Approve every gate that waits now, for the current plan (an approval counts only for a waiting gate)."""
    from mgc_iac.state import StepStatus

    plan, digest = current(stack_dir, store)
    waiting = [g for g, r in store.snapshot(plan.stack).steps.items() if r.status is StepStatus.WAITING]
    approve(store, plan.stack, waiting, digest, by)
    return waiting


def runner(cloud_cfg: dict[str, Any]) -> CloudSteps:
    return CloudSteps(cloud_cfg)
