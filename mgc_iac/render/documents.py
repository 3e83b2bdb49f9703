"""The JSON documents of `--format json` (issue 22, point 5): one object per command on stdout, each with `kind`
and `version`, described by schemas/output/<kind>.schema.json; `apply` streams `apply-event` lines and ends with
its `apply-result`. Pure: plain data in, plain data out (json.dumps-able); the CLI prints them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mgc_iac.diagnostics import Diagnostic

VERSION = 1


def dumps(document: Mapping[str, Any], *, lines: bool = False) -> str:
    """The document as JSON text: indented for one document, one line for a JSON-lines stream."""
    if lines:
        return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return json.dumps(document, sort_keys=True, ensure_ascii=False, indent=2, default=str)


def _doc(kind: str, **body: Any) -> dict[str, Any]:
    return {"kind": kind, "version": VERSION, **body}


def validation(stack: str, diagnostics: Iterable[Diagnostic], workflows: int, sources: int) -> dict[str, Any]:
    items = [d.to_dict() for d in diagnostics]
    errors = sum(1 for d in items if d["severity"] == "error")
    return _doc("validation", stack=stack, valid=errors == 0, errors=errors, warnings=len(items) - errors,
                workflows=workflows, sources=sources, diagnostics=items)


def error(message: str, diagnostics: Iterable[Diagnostic] = (), *, exit_code: int = 1) -> dict[str, Any]:
    """What a command that failed prints in JSON mode (with the exit code it exits with), beside its text on
    stderr: the refusal's message, and the stack's diagnostics when the stack does not load."""
    return _doc("error", message=message, exit_code=exit_code, diagnostics=[d.to_dict() for d in diagnostics])


def apply_event(event: str, **fields: Any) -> dict[str, Any]:
    """One line of apply's stream: step_started, step_progress, step_finished, resource_changed, notified,
    message, api_pressure."""
    return _doc("apply-event", event=event, **fields)


def apply_result(stack: str, result: Any | None, *, nothing_to_apply: bool = False, environment: Any = None,
                 signatures_required: bool = False) -> dict[str, Any]:
    """The last line of apply's stream: what the apply ended with (an engine ApplyResult), and its exit code;
    `environment` (approvals.Environment: state_id, cloud) is what an approval of the waiting gates signs for."""
    where = {"environment_id": environment.state_id if environment is not None else None,
             "cloud": environment.cloud if environment is not None else None,
             "signatures_required": signatures_required}
    if result is None:
        return _doc("apply-result", stack=stack, digest=None, exit_code=0, nothing_to_apply=nothing_to_apply,
                    done=[], waiting=[], failed=[], queued=[], blocked=[], scheduled=[], interrupted=False,
                    in_progress=False, approve_digest=None, pushback=[], **where)
    return _doc("apply-result", stack=stack, digest=result.digest, exit_code=result.exit_code, **where,
                nothing_to_apply=False, done=list(result.done),
                waiting=[{"gate": w.gate, "needs": w.reason} for w in result.waiting],
                failed=[{"gate": g, "error": e} for g, e in result.failed.items()],
                queued=[{"server": s, "position": p} for s, p in result.queued.items()],
                blocked=[{"server": s, "waits_for": w} for s, w in result.blocked.items()],
                scheduled=[{"gate": g, "window": w} for g, w in result.scheduled.items()],
                interrupted=result.interrupted, in_progress=result.in_progress,
                approve_digest=result.approve_digest, pushback=list(result.pushback))


def approval(approver: str, gates: Iterable[str], digest: str, signed: bool, written: Path | None,
             still_waiting: Iterable[Any] = (), *, override_checks: bool = False, note: str | None = None,
             environment: str | None = None, cloud: str | None = None) -> dict[str, Any]:
    """`approve`: who approved which gates of which plan, signed or not, where it is recorded, what still waits
    (refusals: gate, code, reason); an offline approval names the environment and cloud account it signed for."""
    return _doc("approval", approver=approver, gates=list(gates), digest=digest, signed=signed,
                recorded_in="approvals-file" if written else "state", file=str(written) if written else None,
                still_waiting=[{"gate": r.gate, "code": r.code, "reason": r.reason} for r in still_waiting],
                override_checks=override_checks, note=note, environment=environment, cloud=cloud)


def approval_check(directory: Path, digest: str, review: Any | None) -> dict[str, Any]:
    """`approve --check`: how the entries of approvals.yaml verify against the current plan (review: an
    approvals.review.FileReview, None without an approvals.yaml)."""
    if review is None:
        return _doc("approval-check", directory=str(directory), digest=digest, file_present=False, ok=True,
                    counted=0, rejected=0, stale=0, lines=[])
    return _doc("approval-check", directory=str(directory), digest=digest, file_present=True, ok=review.ok,
                counted=review.counted, rejected=review.rejected, stale=review.stale, lines=list(review.lines))


def status(report: Mapping[str, Any]) -> dict[str, Any]:
    """`status`: each workflow's servers (step, state, progress, gate, approvals, queue, checks, verification)."""
    return _doc("status", **report)


def journal(stack: str, entries: Iterable[Any]) -> dict[str, Any]:
    """`state journal`: the step journal, oldest first."""
    return _doc("journal", stack=stack, entries=[{"seq": e.seq, "address": e.address, "phase": e.phase,
                                                  "at": e.at, "detail": e.detail} for e in entries])


def lab_messages(messages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """`lab messages`: the SMN notifications the lab received."""
    return _doc("lab-messages", messages=[{"time": m.get("time"), "topic": m.get("topic"),
                                          "subject": m.get("subject"), "message": m.get("message")}
                                         for m in messages])


def discovery(stack: str, found: Iterable[Any], duplicates: Iterable[str], written: Path | None) -> dict[str, Any]:
    """`discover`: per source what it reported (or why it could not be asked) and how it differs from the
    inventory; MACs seen on two sources; the inventory file written, if any."""
    sources = []
    for item in found:
        facts = item.facts
        sources.append({"name": item.name, "error": item.error,
                        "facts": None if facts is None else {
                            "hostname": facts.hostname, "os": f"{facts.os.id} {facts.os.version_id}".strip(),
                            "cpus": facts.cpu_count, "memory_mb": facts.memory_total_kb // 1024,
                            "macs": list(facts.macs), "rsync": facts.rsync_present},
                        "differences": [{"field": d.field, "declared": d.declared, "discovered": d.discovered}
                                        for d in item.differences]})
    return _doc("discovery", stack=stack, sources=sources, duplicate_macs=list(duplicates),
                written=str(written) if written else None)


def status_change(server: str, progress: str, step: str, state: str, serial: int) -> dict[str, Any]:
    """`status --watch`: one JSON line per server whose step or state moved since the last read."""
    return _doc("status-change", server=server, progress=progress, step=step, state=state, serial=serial)
