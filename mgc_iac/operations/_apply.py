"""`apply`: run a stack (planned now, shown, confirmed) or exactly the plan in a plan file, through the engine.

    with open_for_apply(target) as ws:          # the stack's lock is taken before any planning
        applied = apply(ws, ApplyRequest(plan_file=...), view)
    applied.exit_code                           # 0 done, 1 failed, 3 gates wait, 4 --max-wait ran out

A plan file is a proposal, never an authority: the fresh plan runs, and only when its digest is the file's
(operations.planfile). The caller sees the work through `view`: the plan of a stack (to show), the confirmation
(a callback), and the engine's hooks while it runs. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mgc_iac.cloud import sharing_limits
from mgc_iac.engine import ApplyResult, CloudSteps, Engine, EngineOptions, Hooks
from mgc_iac.errors import UsageError
from mgc_iac.operations._planfile import is_plan_file, read_proposal, stack_dir_for, verify_plan_file
from mgc_iac.operations._planning import Planned
from mgc_iac.operations._workspace import STATE_WRITE, Workspace

if TYPE_CHECKING:
    from mgc_iac.approvals import Environment
    from mgc_iac.plan import Plan


class ApplyView(Protocol):
    """What apply asks of its caller (the CLI's terminal, a script's callbacks)."""

    def planned(self, planned: Planned, digest: str) -> None:
        """A stack was planned: show the plan and its warnings (not called for a plan file)."""

    def confirm(self, plan: Plan) -> bool:
        """Apply this plan? Asked for a stack with changes, unless ApplyRequest.auto_approve."""

    def progress(self, plan: Plan) -> AbstractContextManager[Hooks]:
        """The hooks the engine reports through while it runs `plan`."""

    def note(self, text: str) -> None:
        """A remark worth showing (e.g. a plan signature that does not count here)."""

    def reviewed(self, text: str) -> None:
        """How the fresh plan matches the reviewed one (ApplyRequest.reviewed_plan), before it is shown."""


@dataclass(frozen=True)
class ApplyRequest:
    plan_file: Path | None = None        # apply exactly this plan (else: plan the stack now)
    auto_approve: bool = False           # do not ask (never passes a manual gate)
    parallelism: int = 10
    refresh: bool = True                 # read every recorded resource from the cloud first
    deadline: float | None = None        # time.monotonic() by which apply returns (--max-wait)
    reviewed_plan: Path | None = None    # a stack: refused unless the fresh plan is this reviewed plan (or its spec)
    continue_only: bool = False          # a stack: refused unless its spec is the one the last apply ran
    new_state: bool = False              # in CI: an empty state location is meant (a new backend)


@dataclass(frozen=True)
class Applied:
    """What an apply did. `result` is None when nothing ran (no changes, or the confirmation was declined)."""

    stack: str
    directory: Path
    result: ApplyResult | None
    signed: bool = False                 # the stack's policy requires signed approvals
    environment: Environment | None = None
    nothing_to_apply: bool = False
    declined: bool = False

    @property
    def exit_code(self) -> int:
        return self.result.exit_code if self.result is not None else 0


def open_for_apply(target: Path, stack_dir: Path | None = None, *, new_state: bool = False) -> Workspace:
    """The workspace apply runs in: STACK's, or the stack a plan file was made from (`stack_dir`, else the one the
    file records), with the state open for writing (in CI an empty location is refused unless `new_state`) and
    the stack's lock taken before any planning; a plan file made with live facts has them gathered again, after
    the lock."""
    if is_plan_file(target):
        proposed, _ = read_proposal(target)
        directory = stack_dir_for(target, stack_dir, proposed.provenance.stack_dir)
        return Workspace.open(directory, state=STATE_WRITE, lock="apply", refresh_facts=proposed.refreshed,
                              new_state=new_state)
    return Workspace.open(target, state=STATE_WRITE, lock="apply", new_state=new_state)


def apply(ws: Workspace, request: ApplyRequest, view: ApplyView) -> Applied:
    """Plan (or verify the plan file), confirm, then run the engine until done, a gate, a failure or the deadline."""
    if request.plan_file is not None and (request.reviewed_plan is not None or request.continue_only):
        raise UsageError("--reviewed-plan and --continue-only apply a STACK directory (a plan file is already "
                         "exactly what is applied)")
    if request.plan_file is not None:
        planned, digest = verify_plan_file(ws, request.plan_file, refresh=request.refresh)
        plan = planned.plan
        proposed, _ = read_proposal(request.plan_file)
        if proposed.provenance.signature:
            _record_plan_signature(ws, plan, proposed.provenance.signature, view)
    else:
        from mgc_iac.plan import plan_digest

        planned = ws.plan(refresh_resources=request.refresh)
        plan = planned.plan
        digest = plan_digest(plan)
        if request.continue_only:
            from mgc_iac.plan import check_continues

            check_continues(plan, ws.store.last_applied(plan.stack))
        if request.reviewed_plan is not None:
            from mgc_iac.plan import check_reviewed

            view.reviewed(check_reviewed(plan, digest, request.reviewed_plan))
        view.planned(planned, digest)
        if not plan.has_changes:
            return Applied(plan.stack, ws.directory, None, nothing_to_apply=True)
        if not request.auto_approve and not view.confirm(plan):
            return Applied(plan.stack, ws.directory, None, declined=True)
    trust = ws.trust
    runner = CloudSteps(ws.cloud_config, hosts=ws.hosts)
    # applies on one PostgreSQL state share the API gateway's budget (mgc_iac/cloud/_shared.py; SQLite: no peer)
    with view.progress(plan) as hooks, sharing_limits(ws.store.limiter_peer()):
        # expected_serial: someone else applying between plan and apply makes the plan stale
        engine = Engine(plan, digest, ws.store, runner, hooks=hooks, approvals_file=ws.approvals_file, trust=trust,
                        options=EngineOptions(parallelism=request.parallelism, expected_serial=plan.state_serial,
                                              replan_digest=_replanner(ws), deadline=request.deadline))
        result = engine.run()
    return Applied(plan.stack, ws.directory, result, trust.require_signatures, trust.environment)


def _record_plan_signature(ws: Workspace, plan: Plan, signature: str, view: ApplyView) -> None:
    """A signed plan file names its author: verified here (ignored when it does not verify) and recorded."""
    from mgc_iac.approvals import PLAN_NAMESPACE, plan_message
    from mgc_iac.errors import ApprovalError, ConfigError

    trust = ws.trust
    try:
        principal = trust.principal(plan_message(plan.stack, plan.spec_digest, trust.environment), signature,
                                    PLAN_NAMESPACE)
    except (ApprovalError, ConfigError) as exc:
        view.note(f"the plan file's signature does not count here: {exc}")
        return
    with ws.store.transaction(plan.stack) as txn:
        txn.add_plan_signature(plan.spec_digest, principal, signature)


def _replanner(ws: Workspace) -> Callable[[], str]:
    """The digest of a fresh offline plan of the stack once the apply stopped: the plan in which the gates wait,
    which is what approvals bind to."""

    def digest() -> str:
        from mgc_iac.plan import plan_digest

        return plan_digest(ws.plan(with_facts=False).plan)

    return digest

