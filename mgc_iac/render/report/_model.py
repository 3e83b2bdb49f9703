"""The migration report as data: a pure function of the stack's step template and what the state store
recorded (step records, the write-ahead journal, approvals). Nothing here reads or writes anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mgc_iac.approvals import OVERRIDE_CHECKS
from mgc_iac.plan import Plan
from mgc_iac.state import ApprovalRecord, JournalEntry, Snapshot, StepStatus

COPY_STEPS = ("StartMigration", "StartSynchronization")


@dataclass(frozen=True)
class StepRow:
    step: str
    status: str                    # done | failed | running | waiting | queued | skipped | pending
    attempts: int
    start: datetime | None
    end: datetime | None
    note: str = ""
    offset: float = 0.0            # where the step starts and how long it lasts, as shares of the server's span
    width: float = 0.0

    @property
    def seconds(self) -> float | None:
        return (self.end - self.start).total_seconds() if self.start and self.end else None


@dataclass(frozen=True)
class Approval:
    gate: str
    step: str
    approver: str
    at: str
    via: str
    plan_digest: str
    signed: bool = False  # an SSH signature verified against allowed_signers (else an unsigned `--by NAME`)


@dataclass(frozen=True)
class Failure:
    step: str
    attempt: int
    at: str
    error: str
    advice: str
    current: bool                  # still failed (else a failure a later attempt got past)


@dataclass(frozen=True)
class ServerReport:
    workflow: str
    server: str
    target: str
    state: str
    steps: tuple[StepRow, ...]
    bytes_moved: int
    copy_seconds: float
    verification: dict[str, Any] | None
    approvals: tuple[Approval, ...]
    failures: tuple[Failure, ...]
    start: datetime | None
    end: datetime | None
    # automated checks per gate (TestValidation, BusinessValidation): {step, results, overridden_by}
    checks: tuple[dict[str, Any], ...] = ()

    @property
    def address(self) -> str:
        return f"{self.workflow}/{self.server}"

    @property
    def average_speed(self) -> float | None:
        """Bytes per second over the copy steps (None when nothing was timed)."""
        return self.bytes_moved / self.copy_seconds if self.bytes_moved and self.copy_seconds > 0 else None


@dataclass(frozen=True)
class WorkflowReport:
    name: str
    servers: tuple[ServerReport, ...]

    def count(self, state: str) -> int:
        return sum(1 for s in self.servers if s.state == state)


@dataclass(frozen=True)
class Report:
    stack: str
    serial: int
    generated_at: str
    workflows: tuple[WorkflowReport, ...]
    totals: dict[str, Any] = field(default_factory=dict)


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def build_report(plan: Plan, snapshot: Snapshot, journal: list[JournalEntry], approvals: list[ApprovalRecord],
                 *, stack_dir: str, generated_at: datetime | None = None) -> Report:
    """Per workflow and server: the timeline of steps, bytes moved and speed, verification, approvals, failures."""
    by_gate: dict[str, list[JournalEntry]] = {}
    for entry in journal:
        by_gate.setdefault(entry.address, []).append(entry)
    approved: dict[str, list[ApprovalRecord]] = {}
    for a in approvals:
        approved.setdefault(a.gate, []).append(a)
    workflows: dict[str, list[ServerReport]] = {name: [] for name in plan.workflow_order}
    for server in plan.server_changes:
        workflows.setdefault(server.workflow, []).append(
            _server(server, snapshot, by_gate, approved, stack_dir))
    reports = tuple(WorkflowReport(name, tuple(servers)) for name, servers in workflows.items() if servers)
    every = [s for wf in reports for s in wf.servers]
    totals = {"servers": len(every), "done": sum(s.state == "done" for s in every),
              "bytes_moved": sum(s.bytes_moved for s in every), "failures": sum(len(s.failures) for s in every),
              "approvals": sum(len(s.approvals) for s in every)}
    stamp = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Report(plan.stack, snapshot.serial, stamp, reports, totals)


def _server(server: Any, snapshot: Snapshot, by_gate: dict[str, list[JournalEntry]],
            approved: dict[str, list[ApprovalRecord]], stack_dir: str) -> ServerReport:
    rows: list[StepRow] = []
    failures: list[Failure] = []
    moved, copy_seconds = 0, 0.0
    for step in server.steps:
        gate = f"{server.address}/{step.step}"
        record = snapshot.steps.get(gate)
        entries = by_gate.get(gate, [])
        starts = [e for e in entries if e.phase == "before"]
        start = parse_time(starts[-1].at) if starts else None
        ends = [e for e in entries if e.phase in ("after", "failed", "interrupted") and (not starts or
                                                                                         e.seq > starts[-1].seq)]
        end = parse_time(ends[-1].at) if ends else None
        status = record.status.value if record else "pending"
        detail = record.detail if record else {}
        note = _note(status, detail, step.reason)
        rows.append(StepRow(step.step, status, len(starts), start, end if status != "running" else None, note))
        copied = int(detail.get("replicated_bytes") or 0) if step.step in COPY_STEPS else 0
        if record is not None and record.status is StepStatus.DONE and copied:  # the steps that say what they moved
            moved += copied
            copy_seconds += (end - start).total_seconds() if start and end else 0.0
        failures += _failures(server, step.step, entries, record, stack_dir)
    span_start = min((r.start for r in rows if r.start), default=None)
    span_end = max((r.end or r.start for r in rows if r.start), default=None)
    rows = _place(rows, span_start, span_end)
    verify = snapshot.steps.get(f"{server.address}/VerifyConsistency")
    approvals = tuple(_approvals(server, snapshot, approved, {r.step: r for r in rows}))
    checks = tuple({"step": step, "results": list(r.detail["checks"]),
                    "overridden_by": list(r.detail.get("checks_overridden_by") or ())}
                   for step in ("TestValidation", "BusinessValidation")
                   if (r := snapshot.steps.get(f"{server.address}/{step}")) is not None and r.detail.get("checks"))
    return ServerReport(server.workflow, server.server, server.target_name, _state(rows), tuple(rows), moved,
                        copy_seconds, _verification(verify.detail if verify else {}), approvals,
                        tuple(failures), span_start, span_end, checks)


def _verification(detail: dict[str, Any]) -> dict[str, Any] | None:
    from mgc_iac.engine import with_verdict

    return with_verdict(detail["verification"]) if detail.get("verification") else None


def _approvals(server: Any, snapshot: Snapshot, approved: dict[str, list[ApprovalRecord]],
               rows: dict[str, StepRow]) -> list[Approval]:
    """Who approved each gate and when: the approvals recorded in state, and those the gate counted when it
    opened (`approved_by` of its step record) that state does not hold (approvals.yaml in Git)."""
    out = []
    for step in (s for s in server.steps if s.manual):
        gate = f"{server.address}/{step.step}"
        recorded = approved.get(gate, [])
        out += [Approval(gate, step.step, a.approver, a.at,
                         a.via + (", overriding failed checks" if OVERRIDE_CHECKS in a.signed_gates else ""),
                         a.plan_digest, bool(a.signature)) for a in recorded]
        record = snapshot.steps.get(gate)
        detail = record.detail if record else {}
        opened = rows[step.step].start if step.step in rows else None
        out += [Approval(gate, step.step, who, opened.strftime("%Y-%m-%dT%H:%M:%SZ") if opened else "-",
                         "approvals file", str(detail.get("plan_digest") or ""), who in (detail.get("signed_by") or ()))
                for who in detail.get("approved_by") or [] if who not in {a.approver for a in recorded}]
    return out


def _note(status: str, detail: dict[str, Any], reason: str) -> str:
    if status == "skipped":
        return str(detail.get("reason") or reason)
    if status == "waiting":
        return f"waits for {detail.get('needs') or 'approval'}"
    if status == "queued":
        return f"queued at position {detail.get('queue_position')} (account-wide cap)"
    if status == "failed":
        return str(detail.get("error") or "failed")
    if detail.get("checks_overridden_by"):
        return ("approved by " + ", ".join(detail["approved_by"]) + "; failed automated checks overridden by "
                + ", ".join(detail["checks_overridden_by"]))
    if detail.get("approved_by"):
        return "approved by " + ", ".join(detail["approved_by"])
    return reason if status == "pending" else ""


def _failures(server: Any, step: str, entries: list[JournalEntry], record: Any, stack_dir: str) -> list[Failure]:
    """Every failed attempt the journal holds; the error text is the step record's (kept for the last one)."""
    failed = [e for e in entries if e.phase == "failed"]
    current = record is not None and record.status is StepStatus.FAILED
    out = []
    for n, entry in enumerate(failed):
        last = n == len(failed) - 1
        error = str(record.detail.get("error")) if last and current else "(a later attempt ran again)"
        advice = _advice(error, server.address, stack_dir) if last and current else ""
        out.append(Failure(step, int(entry.detail.get("attempt") or 0), entry.at, error, advice, last and current))
    return out


def _advice(error: str, address: str, stack_dir: str) -> str:
    """What to do next: the advice the error carries, else a retry after fixing the cause."""
    if "mgc-iac " in error or "->" in error:
        return "follow the advice in the error, then `mgc-iac apply " + stack_dir + "`"
    return (f"fix the cause, then `mgc-iac retry {stack_dir} {address}` and `mgc-iac apply {stack_dir}` "
            "(after a source reboot: `mgc-iac retry --full`)")


def _place(rows: list[StepRow], start: datetime | None, end: datetime | None) -> list[StepRow]:
    """Each timed step's offset and width in the server's span (for the timeline bars)."""
    if start is None or end is None:
        return rows
    span = max((end - start).total_seconds(), 1.0)
    placed = []
    for r in rows:
        if r.start is None:
            placed.append(r)
            continue
        offset = (r.start - start).total_seconds() / span
        width = max(((r.end or r.start) - r.start).total_seconds() / span, 0.01)
        placed.append(StepRow(r.step, r.status, r.attempts, r.start, r.end, r.note, offset, min(width, 1 - offset)))
    return placed


def _state(rows: list[StepRow]) -> str:
    """A server's state: failed, running, waiting, queued, done (nothing left), or pending."""
    for status in ("failed", "running", "waiting", "queued"):
        if any(r.status == status for r in rows):
            return status
    if rows and all(r.status in ("done", "skipped") for r in rows):
        return "done"
    return "pending" if not any(r.status == "done" for r in rows) else "in progress"
