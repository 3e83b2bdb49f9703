"""The plan FILE layout as pydantic models, mirroring `planfile.plan_to_dict` key for key.

Used only to generate schemas/plan.schema.json for the tools that read plan files; every field is required
and unknown keys are refused, so a change to plan_to_dict that is not mirrored here fails the schema tests.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mgc_iac.plan.model import Action, StepAction

DIGEST = r"^sha256:[0-9a-f]{64}$"
MONEY = r"^-?[0-9]+(\.[0-9]+)?$"  # an exact decimal amount, as a string (no float rounding in a bill)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SummaryFile(_Strict):
    create: int = Field(ge=0)
    update: int = Field(ge=0)
    replace: int = Field(ge=0)
    delete: int = Field(ge=0)
    forget: int = Field(ge=0)
    no_op: int = Field(ge=0, alias="no-op")
    move: int = Field(0, ge=0, description="Resources that move to a new address, keeping their records.")
    steps_to_run: int = Field(ge=0)
    gates: int = Field(ge=0, description="Gates (manual steps) that wait for approval.")


class ResourceChangeFile(_Strict):
    address: str = Field(description="workflow/server/kind, or workflow/kind for workflow-wide resources.")
    kind: str
    workflow: str
    server: str | None
    action: Action
    before: dict[str, Any] | None = Field(description="Recorded attributes (null when created).")
    after: dict[str, Any] | None = Field(description="Desired attributes (null when deleted or forgotten).")
    changed: list[str] = Field(description="Changed leaves, e.g. tags.owner (display only).")
    reasons: list[str] = Field(description="Why a replace, forget or no-op (display only).")
    moved_from: str | None = Field(None, description="The recorded address this resource moves from: its target "
                                   "and task keep their records (automatic for the same source, or `moved:`).")


class DriftFile(_Strict):
    address: str
    kind: str
    workflow: str
    server: str | None
    attribute: str = Field(description='"exists" (deleted outside mgc-iac) or an attribute path, e.g. tags.owner.')
    recorded: Any = Field(description="The value mgc-iac recorded when it last applied the resource.")
    live: Any = Field(description="The value the cloud reports now.")
    effect: Literal["repair", "report"] = Field(
        description="repair: an action of this plan puts it back as the spec says; report: shown only.")


class StepFile(_Strict):
    step: str
    action: StepAction
    manual: bool
    reason: str


class ServerFile(_Strict):
    address: str = Field(description="workflow/server.")
    workflow: str
    server: str
    target_name: str
    os: Literal["linux", "windows"]
    used_gb: float = Field(ge=0)
    assumed_mbps: float = Field(gt=0, description="Bandwidth share the estimate assumes.")
    estimated_seconds: int = Field(ge=0)
    steps: list[StepFile] = Field(description="The server's steps in template order.")


class DiagnosticFile(_Strict):
    severity: Literal["error", "warning"]
    rule: str
    file: str | None
    line: int | None
    path: str
    message: str
    fix: str


class ProvenanceFile(_Strict):
    git_commit: str | None
    author: str | None
    tool_version: str
    stack_dir: str | None = Field(description="The stack directory, relative to where the plan was made.")
    signature: str | None = Field(None, description="plan --sign-key: armored SSH signature (namespace "
                                                    "mgc-iac-plan) of the stack, spec digest and environment.")


class PolicyFile(_Strict):
    required_approvers: int = Field(ge=1)
    require_signatures: bool
    allow_plan_author: bool
    allow_advance: bool
    signers: list[str] = Field(description="The allowed_signers lines that count (principal, key type, key).")
    source: str | None = Field(None, description="Where the policy in force comes from (the last apply, a "
                                                 "trusted ref, or the spec before the first apply).")


class PolicyChangeFile(_Strict):
    current: PolicyFile = Field(description="The policy in force.")
    proposed: PolicyFile = Field(description="The policy the spec asks for.")
    changes: list[str] = Field(description="One line per change, e.g. `required_approvers: 2 -> 1`.")
    widens: bool = Field(description="Fewer approvers, signatures no longer required, the author or advance "
                                     "approvals allowed, or a signer added: it waits at the policy gate.")
    gate: str | None = Field(description="The gate a widening change waits at, approved under the policy in force.")


class CostPartFile(_Strict):
    side: Literal["before", "after"] = Field(description="before: stops being billed; after: starts being billed.")
    part: Literal["flavor", "system_disk", "data_disk", "eip_bandwidth"]
    resource: Literal["vm", "volume", "bandwidth"] = Field(description="BSS resource type hws.resource.type.<this>.")
    region: str
    spec: str = Field(description="BSS resource_spec: flavor + .linux/.win, EVS disk type, or 19_bgp bandwidth.")
    size: int | None = Field(description="GB of a disk, Mbit/s of a bandwidth; null for a flavor.")
    monthly: str | None = Field(pattern=MONEY, description="Monthly on-demand price; null when unknown.")


class ServerCostFile(_Strict):
    address: str = Field(description="workflow/server.")
    workflow: str
    server: str
    action: Literal["create", "delete", "replace", "update"]
    monthly_before: str | None = Field(pattern=MONEY, description="What stops being billed (null: unknown).")
    monthly_after: str | None = Field(pattern=MONEY, description="What starts being billed (null: unknown).")
    delta: str | None = Field(pattern=MONEY, description="monthly_after - monthly_before (null: unknown).")
    parts: list[CostPartFile]


class CostSumsFile(_Strict):
    added: str = Field(pattern=MONEY, description="Sum of monthly_after over the servers whose price is known.")
    removed: str = Field(pattern=MONEY, description="Sum of monthly_before over the servers whose price is known.")
    delta: str = Field(pattern=MONEY, description="added - removed: the change to the monthly bill.")
    unknown: int = Field(ge=0, description="Servers left out of the sums: a price is unknown.")


class WorkflowCostFile(CostSumsFile):
    workflow: str


class CostFile(_Strict):
    """Outside the digest: a quote from Huawei's BSS price inquiry, which changes when Huawei's prices do."""

    status: Literal["known", "partial", "unknown"]
    currency: str | None = Field(description="ISO currency of every amount (CNY, USD...); null when nothing priced.")
    source: str = Field(description="Where the prices came from (BSS endpoint, the lab, the lab seed).")
    reason: str | None = Field(description="Why prices are unknown or partial; null when known.")
    hours_per_month: int = Field(gt=0, description="A month of on-demand use, in hours (730).")
    servers: list[ServerCostFile]
    workflows: list[WorkflowCostFile]
    total: CostSumsFile


class PlanFile(_Strict):
    """A plan file (`mgc-iac plan --out FILE`): what `apply FILE` applies and approvals refer to by digest."""

    format_version: str = Field(pattern=r"^1\.\d+$", description="Major 1; readers refuse other majors.")
    stack: str
    spec_digest: str = Field(pattern=DIGEST)
    state_serial: int = Field(ge=0, description="The state serial the plan was made against (stale if moved).")
    refreshed: bool = Field(description="Made with live facts (plan --refresh).")
    summary: SummaryFile
    workflow_order: list[str]
    resource_changes: list[ResourceChangeFile]
    servers: list[ServerFile]
    drift: list[DriftFile] = Field(description="Changed outside mgc-iac: what the cloud reports differently "
                                   "from the records (empty unless made with --refresh). Outside the digest: "
                                   "its repairs are in resource_changes.")
    cost: CostFile | None = Field(description="The monthly on-demand price of what the plan creates and deletes, "
                                  "per server, per workflow and in total; null when not asked (apply, --no-cost). "
                                  "Outside the digest.")
    gates: list[str] = Field(description="workflow/server/step of every manual step waiting for approval (and the "
                                         "policy gate of a widening policy change).")
    policy: PolicyFile | None = Field(description="The approval policy in force. Outside the digest.")
    policy_change: PolicyChangeFile | None = Field(description="What the spec changes in the approval policy in "
                                                              "force; takes effect only once an apply records it.")
    diagnostics: list[DiagnosticFile] = Field(description="Warnings found when planning.")
    spec: dict[str, Any] = Field(description="The canonical stack spec (see stack.schema.json).")
    digest: str = Field(pattern=DIGEST, description="sha256 of the canonical JSON of all but digest, provenance, "
                                                    "drift and cost.")
    provenance: ProvenanceFile = Field(description="Outside the digest: where and by whom the plan was made.")
