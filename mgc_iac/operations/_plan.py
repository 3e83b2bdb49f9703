"""`plan`, `show` and `pr-comment`: the reviewable diff of a stack against recorded state, and a saved plan.

    with open_for_plan("stacks/demo", PlanRequest(out=Path("plan.json"))) as ws:
        made = plan(ws, PlanRequest(out=Path("plan.json")))
    made.plan, made.digest, made.saved

Offline unless `refresh`: no credentials needed (a pull request from a fork can be planned). Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mgc_iac.errors import ApprovalError, UserError
from mgc_iac.operations._planning import Planned
from mgc_iac.operations._workspace import STATE_READ, Workspace, stack_dir_of

if TYPE_CHECKING:
    from mgc_iac.diagnostics import Diagnostic
    from mgc_iac.plan import Plan


@dataclass(frozen=True)
class PlanRequest:
    out: Path | None = None          # save the plan file here
    refresh: bool = False            # read the cloud first: live facts, and every recorded resource (drift)
    sign_key: Path | None = None     # sign the plan as its author (SSH key, or the .pub of an ssh-agent key)
    cost: bool = False               # the monthly price of what it creates and deletes (BSS; never fails the plan)
    new_state: bool = False          # in CI: plan against an empty state on purpose (a new backend)


@dataclass(frozen=True)
class PlanMade:
    planned: Planned
    plan: Plan                       # with its author's signature when signed
    digest: str
    saved: Path | None = None

    @property
    def warnings(self) -> list[Diagnostic]:
        return list(self.planned.checked.diagnostics.warnings)


def check_plan_out(out: Path, stack: Path) -> None:
    """Refuse a plan file path that cannot or must not be written, before anything is planned or written."""
    stack_dir = stack_dir_of(stack).resolve()
    if out.is_dir():
        raise UserError(f"--out {out}: is a directory; plan: give a file name, e.g. --out {out / 'plan.json'}")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: directory {out.parent} does not exist; create it first "
                        f"(mkdir -p {out.parent}) or save the plan elsewhere")
    if out.resolve().parent == stack_dir or stack_dir in out.resolve().parents:
        raise UserError(f"--out {out}: is inside the stack directory {stack}, whose files are the spec; save the "
                        "plan next to it, e.g. --out plan.json")


def open_for_plan(stack: Path, request: PlanRequest) -> Workspace:
    """The workspace a plan is made in: a bad --out refused first; the state read-only (a plan never writes it, nor
    anything beside it: live facts, when `refresh`, are not remembered)."""
    if request.out is not None:
        check_plan_out(request.out, stack)
    return Workspace.open(stack, state=STATE_READ, refresh_facts=request.refresh, remember_facts=False,
                          new_state=request.new_state)


def plan(ws: Workspace, request: PlanRequest) -> PlanMade:
    """The plan of the workspace's stack now (SpecError when a rule fails), signed and saved when asked."""
    from mgc_iac.plan import plan_to_dict, write_plan

    planned = ws.plan(refresh_resources=request.refresh)
    made = planned.plan
    if request.cost:
        from mgc_iac.operations._pricing import price_plan

        made = price_plan(made, ws.directory)  # a running lab's prices, or the seed's: never starts one
    if request.sign_key is not None:
        made = _signed(ws, made, request.sign_key)
    digest = write_plan(made, request.out) if request.out else plan_to_dict(made)["digest"]
    return PlanMade(planned, made, digest, request.out)


def _signed(ws: Workspace, plan: Plan, key: Path) -> Plan:
    """The plan with its author's signature (over stack, spec digest and environment), in the plan only: plan
    never writes the state; `apply FILE` verifies the signature and records the author."""
    from mgc_iac.approvals import PLAN_NAMESPACE, plan_message, sign

    trust = ws.trust
    if trust.allowed_signers is None:
        raise ApprovalError("plan --sign-key needs approvals.allowed_signers in the stack (who may sign)")
    message = plan_message(plan.stack, plan.spec_digest, trust.environment)
    signature = sign(message, key, PLAN_NAMESPACE)
    principal = trust.principal(message, signature, PLAN_NAMESPACE)
    return replace(plan, provenance=replace(plan.provenance, author=principal, signature=signature))


@dataclass(frozen=True)
class Shown:
    plan: Plan
    digest: str


def show_plan(plan_file: Path) -> Shown:
    """A saved plan (refused if it was edited or has an unknown format_version)."""
    from mgc_iac.plan import read_plan

    saved, digest = read_plan(plan_file)
    return Shown(saved, digest)


def pr_comment(plan_file: Path, limit: int = 65_536, full_plan: str = "the job's artifacts") -> str:
    """A saved plan as one PR/MR comment body (markdown, per-workflow detail collapsed, under `limit` characters);
    its first line is a marker naming the stack, so a pipeline can find and edit its earlier comment."""
    from mgc_iac.render import pr_comment as comment

    shown = show_plan(plan_file)
    return comment(shown.plan, shown.digest, limit, full_plan)
