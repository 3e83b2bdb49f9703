"""`approve --check`: what an approvals pull request's job reports (issue 19). Every entry of approvals.yaml is
verified as apply will verify it (signature by an allowed signer of the policy in force, for this environment),
against the plan of the stack now; the job fails when the file approves nothing that counts for that plan."""

from __future__ import annotations

from dataclasses import dataclass

from mgc_iac.approvals.model import ApprovalsFile
from mgc_iac.approvals.requirements import Approval, check_requirements, combine
from mgc_iac.approvals.trust import Trust
from mgc_iac.plan import Plan
from mgc_iac.stack import ApprovalPolicy


@dataclass(frozen=True)
class FileReview:
    lines: tuple[str, ...]
    counted: int      # entries' approvals that verify and name the current plan
    rejected: int     # entries' approvals that do not verify
    stale: int        # entries' approvals of another plan digest

    @property
    def ok(self) -> bool:
        total = self.counted + self.rejected + self.stale
        return self.rejected == 0 and (total == 0 or self.counted > 0)


def review_file(plan: Plan, digest: str, file: ApprovalsFile, trust: Trust, policy: ApprovalPolicy,
                authors: set[str], waiting: set[str], recorded: list[Approval]) -> FileReview:
    entries = combine(file, ())
    counted, rejected = trust.check(entries)
    lines: list[str] = []
    current = [a for a in counted if a.plan_digest == digest]
    stale = [a for a in counted if a.plan_digest != digest]
    lines += [f"counts: {a.gate} approved by {a.approver} ({'signed' if a.signature else 'unsigned'})"
              for a in current]
    lines += [f"stale: {a.gate} by {a.approver} approves plan {a.plan_digest}, not the current {digest}"
              for a in stale]
    lines += [f"REFUSED: {r}" for r in rejected]
    gates = sorted({a.gate for a in current})
    left = check_requirements(plan, digest, [*counted, *recorded], policy, authors, gates=gates, waiting=waiting)
    lines += [f"still waiting: {r}" for r in left]
    lines += [f"passes at the next apply: {g}" for g in gates if g not in {r.gate for r in left}]
    return FileReview(tuple(lines), len(current), len(rejected), len(stale))
