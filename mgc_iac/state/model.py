"""What the state store records: resources, step progress, the journal, approvals. Never a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from operator import itemgetter
from typing import Any


class StepStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"  # waiting for a slot under the account-wide concurrency cap
    RUNNING = "running"
    WAITING = "waiting"  # a manual checkpoint waiting for approval
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    """A resource as last applied: the attributes it was created/updated with and the cloud's ids."""

    address: str
    kind: str
    workflow: str
    server: str | None
    attrs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int
    stack: str
    address: str  # workflow/server/step or a resource address
    phase: str  # before | after | failed | a step status (waiting, skipped, ...) | moved | forgotten | rewind
    at: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    gate: str  # workflow/server/step
    approver: str
    plan_digest: str
    at: str
    via: str = "cli"  # cli | git
    signature: str = ""  # armored SSHSIG (namespace mgc-iac-approval) over signed_gates, the digest, the environment
    signed_gates: tuple[str, ...] = ()  # every gate the signature covers (one `approve` signs them at once)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A source a stack migrates: what account-wide MAC uniqueness is checked against."""

    stack: str
    name: str
    mac: str


class RecordedResources(Mapping[str, ResourceRecord]):
    """Recorded resources, parsed on access: planning compares most records as stored JSON text, so a 100k-server
    state is not turned into a million dicts when only one of them changed."""

    __slots__ = ("_rows", "_parsed")

    def __init__(self, rows: Mapping[str, Sequence[Any]] | None = None) -> None:
        # address -> (address, kind, workflow, server, attrs as JSON text, outputs as JSON text): the row as read
        self._rows = rows or {}
        self._parsed: dict[str, ResourceRecord] = {}

    def __getitem__(self, address: str) -> ResourceRecord:
        record = self._parsed.get(address)
        if record is None:
            _, kind, workflow, server, attrs, outputs = self._rows[address]
            record = ResourceRecord(address, kind, workflow, server, json.loads(attrs), json.loads(outputs))
            self._parsed[address] = record
        return record

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, address: object) -> bool:
        return address in self._rows

    def attrs_text(self, address: str) -> str | None:
        """The stored attributes as canonical JSON text (sorted keys, compact), without parsing them."""
        if address in self._parsed:
            return canonical_json(self._parsed[address].attrs)
        row = self._rows.get(address)
        return row[4] if row is not None else None


_STATUS = {s.value: s for s in StepStatus}  # enum lookup by value, without the Enum call's overhead

_STATUS_VALUES = tuple(s.value for s in StepStatus)
_STATUS_CODE = "CASE status " + " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(_STATUS_VALUES)) + " END"
_BY_CODE = {**dict(enumerate(_STATUS_VALUES)), None: None}  # code -> the enum's own value string
# RecordedSteps' rows: a known status comes back as its code (an unknown one as itself, in the next column),
# workflow, server and step are cut from the gate by their lengths (the store writes the gate as
# workflow/server/step) and an empty detail comes back as NULL: 5 strings fewer a row, 3.5M at 100k servers
_KNOWN = ", ".join(f"'{v}'" for v in _STATUS_VALUES)
STEP_ROWS = (f"SELECT gate, {_STATUS_CODE}, CASE WHEN status NOT IN ({_KNOWN}) THEN status END, attempt, "
             "NULLIF(detail, '{}'), updated_at, length(workflow), length(server) FROM steps WHERE stack = ?")


class RecordedSteps(Mapping[str, StepRecord]):
    """Recorded steps by gate, each built on access: a plan needs only their statuses, so a 100k-server state is
    not turned into 700k StepRecords to read one word of each."""

    __slots__ = ("_rows", "_parsed", "_statuses")

    def __init__(self, rows: Mapping[str, Sequence[Any]] | None = None) -> None:
        # gate -> (gate, status code, unknown status or None, attempt, detail as JSON text or None for {},
        # updated_at, len(workflow), len(server)): the row as read (STEP_ROWS)
        self._rows = rows or {}
        self._parsed: dict[str, StepRecord] = {}
        self._statuses: dict[str, str] | None = None

    def __getitem__(self, gate: str) -> StepRecord:
        record = self._parsed.get(gate)
        if record is None:
            _, code, unknown, attempt, detail, at, workflow_len, server_len = self._rows[gate]
            step_at = workflow_len + server_len + 2
            record = StepRecord(gate[:workflow_len], gate[workflow_len + 1:step_at - 1], gate[step_at:],
                                _STATUS[_BY_CODE[code] or unknown], attempt,
                                {} if detail is None else json.loads(detail), at)
            self._parsed[gate] = record
        return record

    def get(self, gate: str, default: Any = None) -> Any:  # Mapping.get raises and catches KeyError on a miss
        return self[gate] if gate in self._rows else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, gate: object) -> bool:
        return gate in self._rows

    def statuses(self) -> dict[str, str]:
        """gate -> its status's value, without building the records."""
        if self._statuses is None:
            statuses = dict(zip(self._rows, map(_BY_CODE.__getitem__, map(itemgetter(1), self._rows.values())),
                                strict=True))
            if None in statuses.values():  # a status the enum does not know: as recorded
                statuses.update((gate, row[2]) for gate, row in self._rows.items() if row[1] is None)
            self._statuses = statuses
        return self._statuses


def step_statuses(steps: Mapping[str, StepRecord]) -> dict[str, str]:
    """gate -> status value of recorded steps (RecordedSteps or a plain dict of StepRecords)."""
    if isinstance(steps, RecordedSteps):
        return steps.statuses()
    return {gate: record.status.value for gate, record in steps.items()}


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # json.dumps would build one per call


def canonical_json(value: Any) -> str:
    """The one JSON text form of stored attributes: what the store writes and the planner compares."""
    return _CANONICAL.encode(value)


@dataclass(frozen=True)
class Snapshot:
    """One stack's recorded state, read in one transaction."""

    stack: str
    serial: int
    resources: RecordedResources
    steps: Mapping[str, StepRecord]  # keyed by gate address workflow/server/step (RecordedSteps when read)
    workflow_order: dict[str, int] = field(default_factory=dict)  # workflow -> account-wide creation seq

    @classmethod
    def empty(cls, stack: str) -> Snapshot:
        return cls(stack, 0, RecordedResources(), {})


@dataclass(frozen=True)
class AppliedRecord:
    """What the last apply of a stack ran with (the trusted side, issue 19): the spec digest it applied and the
    approval policy in force, allowed_signers lines included. Only an apply writes it; a pull request's plan
    reads it, so a change under review cannot choose who approves it."""

    spec_digest: str
    policy: dict[str, Any]
    at: str = ""
    git_commit: str = ""


@dataclass(frozen=True)
class StackExport:
    """One stack's whole recorded state, as `state migrate` copies it from one backend to another."""

    stack: str
    serial: int
    resources: list[ResourceRecord]
    steps: list[StepRecord]
    workflows: list[tuple[int, str]]  # (account-wide creation seq, workflow name)
    sources: list[SourceRecord]
    approvals: list[ApprovalRecord]
    journal: list[JournalEntry]
    applied: AppliedRecord | None = None
