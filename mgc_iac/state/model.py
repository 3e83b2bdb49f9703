"""What the state store records: resources, step progress, the journal, approvals. Never a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class StepStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"  # waiting for a slot under the account-wide concurrency cap
    RUNNING = "running"
    WAITING = "waiting"  # a manual checkpoint waiting for approval
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class ResourceRecord:
    """A resource as last applied: the attributes it was created/updated with and the cloud's ids."""

    address: str
    kind: str
    workflow: str
    server: str | None
    attrs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepRecord:
    workflow: str
    server: str
    step: str
    status: StepStatus
    attempt: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    updated_at: str = ""

    @property
    def gate(self) -> str:
        return f"{self.workflow}/{self.server}/{self.step}"


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    stack: str
    address: str  # workflow/server/step or a resource address
    phase: str  # before | after | failed | note
    at: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApprovalRecord:
    gate: str  # workflow/server/step
    approver: str
    plan_digest: str
    at: str
    via: str = "cli"  # cli | git


@dataclass(frozen=True)
class SourceRecord:
    """A source a stack migrates: what account-wide MAC uniqueness is checked against."""

    stack: str
    name: str
    mac: str


@dataclass(frozen=True)
class Snapshot:
    """One stack's recorded state, read in one transaction."""

    stack: str
    serial: int
    resources: dict[str, ResourceRecord]
    steps: dict[str, StepRecord]  # keyed by gate address workflow/server/step
    workflow_order: dict[str, int] = field(default_factory=dict)  # workflow -> account-wide creation seq

    @classmethod
    def empty(cls, stack: str) -> Snapshot:
        return cls(stack, 0, {}, {})
