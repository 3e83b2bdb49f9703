"""The desired graph: resources and the ordered steps of every server (the "Server Migration" template)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class StepKind(StrEnum):
    CREATE_TARGET = "CreateTarget"
    START_UP_AGENT = "StartUpAgent"
    START_MIGRATION = "StartMigration"
    RESIZE_DISK_PARTITION = "ResizeDiskPartition"
    START_SYNCHRONIZATION = "StartSynchronization"
    VERIFY_CONSISTENCY = "VerifyConsistency"
    TEST_LAUNCH = "TestLaunch"            # only with the workflow's test_launch: clone | target
    TEST_VALIDATION = "TestValidation"
    TEST_CLEANUP = "TestCleanup"
    BUSINESS_VALIDATION = "BusinessValidation"
    CUTOVER = "Cutover"
    SOURCE_CLEAR = "SourceClear"
    MIGRATION_TASK_CLEAR = "MigrationTaskClear"


STEP_ORDER: tuple[StepKind, ...] = tuple(StepKind)
MANUAL_STEPS = frozenset({StepKind.RESIZE_DISK_PARTITION, StepKind.TEST_VALIDATION, StepKind.BUSINESS_VALIDATION,
                          StepKind.CUTOVER})
# present only in workflows that launch a test instance (test_launch: clone | target); absent otherwise, so a
# workflow without them keeps the card's steps and its plans their digests
TEST_STEPS = frozenset({StepKind.TEST_LAUNCH, StepKind.TEST_VALIDATION, StepKind.TEST_CLEANUP})
# gates before which the workflow's automated checks run (validation.checks)
CHECKED_GATES = frozenset({StepKind.TEST_VALIDATION, StepKind.BUSINESS_VALIDATION})
# steps that start only inside the workflow's cutover window
WINDOWED_STEPS = frozenset({StepKind.CUTOVER, StepKind.SOURCE_CLEAR})


@dataclass(frozen=True, slots=True)  # no __dict__: one per server at 100k
class DesiredResource:
    """A resource the spec wants, with canonical JSON attributes."""

    address: str  # workflow/server/kind, or workflow/kind for workflow-wide resources
    kind: str
    workflow: str
    server: str | None
    attrs: dict[str, Any]


@dataclass(frozen=True, slots=True)  # no __dict__: one per server at 100k
class Step:
    kind: StepKind
    enabled: bool
    reason: str = ""  # why it is skipped, or what it does here

    @property
    def manual(self) -> bool:
        return self.kind in MANUAL_STEPS


@dataclass(frozen=True, slots=True)  # no __dict__: one per server at 100k
class ServerNode:
    workflow: str
    server: str
    os: str
    target_name: str
    steps: tuple[Step, ...]
    used_gb: float
    assumed_mbps: float  # bandwidth share used for the estimate
    estimated_seconds: int

    def step(self, kind: StepKind) -> Step:
        return next(s for s in self.steps if s.kind is kind)

    def gate(self, kind: StepKind) -> str:
        return f"{self.workflow}/{self.server}/{kind.value}"


@dataclass(frozen=True, slots=True)
class WorkflowNode:
    name: str
    position: int  # creation order: later workflows queue behind earlier ones
    servers: tuple[ServerNode, ...]


@dataclass(frozen=True)
class Graph:
    stack: str
    workflows: tuple[WorkflowNode, ...]
    resources: dict[str, DesiredResource] = field(default_factory=dict)
    moved: dict[str, str] = field(default_factory=dict)  # `moved:` blocks: new server address -> recorded one

    def servers(self) -> list[ServerNode]:
        return [s for wf in self.workflows for s in wf.servers]
