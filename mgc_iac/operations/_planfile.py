"""A plan file is a proposal: re-plan its stack against current state and accept the file only when the
fresh plan's digest equals the file's. What runs is always the fresh plan (spec + state + policy)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mgc_iac.errors import PlanFileError, StalePlanError, UsageError
from mgc_iac.operations._planning import Planned

if TYPE_CHECKING:
    from mgc_iac.operations._workspace import Workspace
    from mgc_iac.plan import Plan


def is_plan_file(path: Path) -> bool:
    return path.is_file() and path.suffix == ".json"


def read_proposal(plan_file: Path) -> tuple[Plan, str]:
    """(the plan in the file, its digest); refused when the file was edited or is of an unknown format."""
    from mgc_iac.plan import read_plan

    return read_plan(plan_file)


def stack_dir_for(plan_file: Path, given: Path | None, recorded: str | None) -> Path:
    """The stack a plan file proposes changes to: `given` (--stack-dir), else the directory recorded in the file."""
    if given is not None:
        return given
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    raise UsageError(f"{plan_file}: cannot find the stack it was made from ({recorded or 'not recorded'}); "
                     "pass --stack-dir STACK_DIR")


def verify_plan_file(ws: Workspace, plan_file: Path, *, refresh: bool = True) -> tuple[Planned, str]:
    """(fresh Planned, its digest) when `plan_file` is exactly the plan of the workspace's stack now; else a refusal
    naming what differs (StalePlanError when only the state moved since the file was made). `refresh`: the
    fresh plan reads the recorded resources from the cloud too, so drift since the file was made refuses it
    (its repairs are resource changes, which are digested). A refreshed plan file is compared with a plan made
    with live facts: open the workspace with refresh_facts=proposed.refreshed."""
    from mgc_iac.plan import differences, plan_to_dict, read_plan_body

    proposed, proposed_digest = read_proposal(plan_file)
    body = read_plan_body(plan_file)
    planned = ws.plan(refresh_resources=refresh, with_facts=proposed.refreshed)
    fresh = plan_to_dict(planned.plan)
    if fresh["digest"] == proposed_digest:
        return planned, proposed_digest
    if proposed.stack == planned.plan.stack and proposed.state_serial != planned.plan.state_serial:
        raise StalePlanError(f"{plan_file}: the plan was made against state serial {proposed.state_serial}, the "
                             f"state of `{proposed.stack}` is now at {planned.plan.state_serial}; make a new plan "
                             "and review it")
    lines = differences(body, fresh)
    raise PlanFileError(f"{plan_file} is not the plan of {ws.directory} now (digest {proposed_digest}, a fresh plan "
                        f"gives {fresh['digest']}); refused. What differs:\n  " + "\n  ".join(lines or ["(order)"])
                        + "\nA plan file is a proposal: make a new plan (`mgc-iac plan --out FILE`), review it, apply "
                          "that.")
