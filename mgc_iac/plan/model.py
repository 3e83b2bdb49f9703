"""The plan: a frozen noun that everything else speaks. Data only; rendering lives in mgc_iac/render."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mgc_iac.plan.cost import Cost

FORMAT_VERSION = "1.3"  # 1.1: drift; 1.2: cost; 1.3: the approval policy in force and a policy change
# the stack-level gate a widening change of the approval policy waits at (a workflow name never starts with `_`)
POLICY_GATE = "_stack/approvals/PolicyChange"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    FORGET = "forget"  # stop managing (a cut-over target is production: never deleted)
    NOOP = "no-op"


class StepAction(StrEnum):
    RUN = "run"
    WAIT = "wait-for-approval"
    SKIP = "skip"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class ResourceChange:
    address: str
    kind: str
    workflow: str
    server: str | None
    action: Action
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed: tuple[str, ...] = ()  # changed leaves, e.g. "tags.owner" (display only)
    reasons: tuple[str, ...] = ()  # why a replace/forget/no-op (display only)
    moved_from: str | None = None  # the recorded address this resource moves from (Terraform's `moved`)


@dataclass(frozen=True, slots=True)
class Drift:
    """One attribute of a recorded resource that the cloud reports differently: changed outside mgc-iac.

    `attribute` is "exists" (recorded True, live False: deleted) or an attribute path such as "tags.owner";
    `effect` says what the plan does about it: "repair" (an action below puts it back as the spec says) or
    "report" (shown only: mgc-iac leaves it alone, e.g. a stopped target before Cutover)."""

    address: str
    kind: str
    workflow: str
    server: str | None
    attribute: str
    recorded: Any
    live: Any
    effect: str = "report"


@dataclass(frozen=True, slots=True)
class StepChange:
    step: str
    action: StepAction
    manual: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ServerChange:
    """One server's steps in template order, with the figures a reviewer needs."""

    workflow: str
    server: str
    target_name: str
    os: str
    used_gb: float
    assumed_mbps: float
    estimated_seconds: int
    steps: tuple[StepChange, ...]

    @property
    def address(self) -> str:
        return f"{self.workflow}/{self.server}"

    def gates(self) -> list[str]:
        return [f"{self.address}/{s.step}" for s in self.steps if s.action is StepAction.WAIT]


@dataclass(frozen=True)
class Provenance:
    """Where the plan came from: recorded in the file but outside the digest, so committing an approval
    (which changes the git commit) does not change the plan it approves. Display only: `author` is the
    principal of `signature` (plan --sign-key) as verified when the plan was made; apply verifies it again."""

    git_commit: str | None = None
    author: str | None = None
    tool_version: str = ""
    stack_dir: str | None = None  # relative to where the plan was made: where `apply FILE` finds the stack
    signature: str | None = None  # armored SSHSIG (namespace mgc-iac-plan) over stack, spec digest, environment


@dataclass(frozen=True)
class Plan:
    stack: str
    spec_digest: str
    state_serial: int
    resource_changes: tuple[ResourceChange, ...]
    server_changes: tuple[ServerChange, ...]
    workflow_order: tuple[str, ...]
    diagnostics: tuple[dict[str, Any], ...] = ()  # warnings, as Diagnostic.to_dict()
    spec: dict[str, Any] = field(default_factory=dict)  # the canonical spec, so apply needs only the file
    refreshed: bool = False
    drift: tuple[Drift, ...] = ()  # what the cloud reports differently from the records (plan --refresh)
    cost: Cost | None = None  # the monthly price of what it creates and deletes (operations.pricing; not digested)
    provenance: Provenance = Provenance()
    # the approval policy in force (recorded at the last apply, or a trusted ref; mgc_iac/approvals/policy.py),
    # shown, not digested; and what the spec changes in it (digested: it is reviewed like any change)
    policy: dict[str, Any] | None = None
    policy_change: dict[str, Any] | None = None
    format_version: str = FORMAT_VERSION

    def count(self, action: Action) -> int:
        return sum(1 for c in self.resource_changes if c.action is action)

    def moves(self) -> list[ResourceChange]:
        return [c for c in self.resource_changes if c.moved_from]

    def gates(self) -> list[str]:
        """Every gate waiting in this plan: the servers' manual steps, then a widening policy change."""
        return [g for s in self.server_changes for g in s.gates()] + ([POLICY_GATE] if self.policy_widens else [])

    @property
    def policy_widens(self) -> bool:
        return bool(self.policy_change and self.policy_change.get("widens"))

    def drifted(self) -> int:
        """Recorded resources the cloud reports differently (outside the digest, like the drift itself)."""
        return len({d.address for d in self.drift})

    def steps_to_run(self) -> int:
        return sum(1 for s in self.server_changes for st in s.steps if st.action is StepAction.RUN)

    @property
    def has_changes(self) -> bool:
        """Actions to take, moves, steps to run, gates to pass, or drift found (`--detailed-exitcode` exits 2)."""
        if self.drift or self.policy_change or any(c.action is not Action.NOOP or c.moved_from
                                                    for c in self.resource_changes):
            return True
        return any(
            st.action in (StepAction.RUN, StepAction.WAIT) for s in self.server_changes for st in s.steps)

    def summary(self) -> dict[str, int]:
        counts = {a.value: self.count(a) for a in Action}
        counts["move"] = len(self.moves())
        counts["steps_to_run"] = self.steps_to_run()
        counts["gates"] = len(self.gates())
        return counts
