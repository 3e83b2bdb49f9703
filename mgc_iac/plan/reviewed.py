"""Pipelines apply what was reviewed (issue 19): the plan a pull request showed, or, for a scheduled job, only
what the last apply already ran.

- `apply STACK --reviewed-plan FILE`: FILE is the plan the pull request's job made and its comment showed
  (the job's artifact). The fresh plan must be that plan: the same digest; or, when applies since moved the
  state on (a scheduled job continued the migration), the same spec (spec digest) as reviewed. Anything else
  is refused with what differs.
- `apply STACK --continue-only`: the spec must be the one the last apply recorded (state `applied`): a scheduled
  job moves a reviewed migration on and never applies a change nobody applied through review.
"""

from __future__ import annotations

from pathlib import Path

from mgc_iac.errors import PlanFileError
from mgc_iac.plan.model import Plan
from mgc_iac.state import AppliedRecord


def check_reviewed(fresh: Plan, fresh_digest: str, reviewed_file: Path) -> str:
    """A line saying how the fresh plan matches the reviewed one; PlanFileError when it does not."""
    from mgc_iac.plan.compare import differences
    from mgc_iac.plan.planfile import plan_to_dict, read_plan, read_plan_body

    reviewed, reviewed_digest = read_plan(reviewed_file)
    if reviewed.stack != fresh.stack:
        raise PlanFileError(f"{reviewed_file} is a plan of stack `{reviewed.stack}`, not of `{fresh.stack}`; refused")
    if reviewed_digest == fresh_digest:
        return f"Applying the reviewed plan {reviewed_digest} (unchanged since review)."
    if reviewed.spec_digest == fresh.spec_digest:
        return (f"Applying the reviewed spec {fresh.spec_digest}: the state moved from serial {reviewed.state_serial} "
                f"to {fresh.state_serial} since review (applies continued the migration), the spec did not.")
    lines = differences(read_plan_body(reviewed_file), plan_to_dict(fresh))
    raise PlanFileError(
        f"the stack here is not the one reviewed: spec {fresh.spec_digest}, reviewed {reviewed.spec_digest} "
        f"({reviewed_file}); refused, nothing was applied. What differs:\n  " + "\n  ".join(lines or ["(order)"])
        + "\nApply only what a pull request's plan showed: push the change through a pull request, or re-run its "
          "plan job and merge again.")


def check_continues(fresh: Plan, last: AppliedRecord | None) -> None:
    """PlanFileError unless the spec is the one the last apply ran (`apply --continue-only`)."""
    if last is None:
        raise PlanFileError(f"`{fresh.stack}` was never applied: --continue-only only moves on a migration a "
                            "reviewed apply started (the apply job of the merged pull request)")
    if last.spec_digest != fresh.spec_digest:
        raise PlanFileError(
            f"the spec of `{fresh.stack}` ({fresh.spec_digest}) is not the one its last apply ran "
            f"({last.spec_digest}, {last.at}); --continue-only refuses it, nothing was applied: the merged change "
            "is applied by the reviewed apply job (apply --reviewed-plan), then this job continues it")
