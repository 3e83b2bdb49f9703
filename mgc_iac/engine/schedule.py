"""When a server may start and when a step may start: the scheduler's predicates, pure functions of the plan,
the recorded steps and a clock (the engine asks them; status and the renderers show what they answer).

- waves: a workflow with `depends_on` starts its servers (no target, no SMS task) only once every server of
  each named workflow has finished Cutover. A server that already started goes on.
- cutover windows: Cutover and SourceClear start only while the workflow's `cutover_window` is open; a step
  that began inside it (found RUNNING after a crash) is finished wherever the clock is.
- checks: a gate whose automated checks failed passes only with an approval made with --override-checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mgc_iac.graph import WINDOWED_STEPS, StepKind
from mgc_iac.plan import Plan, ServerChange, StepAction
from mgc_iac.stack import CutoverWindow, dependencies, describe, next_opening, open_window
from mgc_iac.state import StepRecord, StepStatus

CUTOVER = StepKind.CUTOVER.value
STARTED = (StepStatus.RUNNING, StepStatus.DONE, StepStatus.WAITING, StepStatus.FAILED)


# ---- waves ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dependency:
    workflow: str
    cut_over: int
    servers: int

    @property
    def met(self) -> bool:
        return self.cut_over >= self.servers

    def __str__(self) -> str:
        return f"{self.workflow} ({self.cut_over} of {self.servers} server(s) cut over)"


class Waves:
    """The plan's workflow dependencies, asked against step records as they change during an apply."""

    def __init__(self, plan: Plan) -> None:
        self.depends_on = dependencies(plan.spec or {})
        self.servers: dict[str, list[ServerChange]] = {}
        for server in plan.server_changes:
            self.servers.setdefault(server.workflow, []).append(server)

    def waiting_for(self, workflow: str, steps: Mapping[str, StepRecord]) -> list[Dependency]:
        """The named workflows that have not finished Cutover on every server yet (empty: it may start)."""
        out = []
        for name in self.depends_on.get(workflow, ()):
            servers = self.servers.get(name, [])
            done = sum(1 for s in servers if _cut_over(s, steps))
            dep = Dependency(name, done, len(servers))
            if not dep.met:
                out.append(dep)
        return out

    def blocks(self, server: ServerChange, steps: Mapping[str, StepRecord]) -> list[Dependency]:
        """Why `server` may not start now ([] = it may): only a server with work left that has not started."""
        if not self.depends_on.get(server.workflow) or not _has_work(server) or _started(server, steps):
            return []
        return self.waiting_for(server.workflow, steps)


def blocked_reason(workflow: str, deps: Iterable[Dependency]) -> str:
    return f"{workflow} waits for Cutover of " + ", ".join(str(d) for d in deps)


def _cut_over(server: ServerChange, steps: Mapping[str, StepRecord]) -> bool:
    record = steps.get(f"{server.address}/{CUTOVER}")
    return record is not None and record.status is StepStatus.DONE


def _has_work(server: ServerChange) -> bool:
    return any(s.action in (StepAction.RUN, StepAction.WAIT) for s in server.steps)


def _started(server: ServerChange, steps: Mapping[str, StepRecord]) -> bool:
    return any((r := steps.get(f"{server.address}/{s.step}")) is not None and r.status in STARTED
               for s in server.steps)


# ---- cutover windows ---------------------------------------------------------------------------------------

def window_of(plan: Plan, workflow: str) -> CutoverWindow | None:
    wf = next((w for w in (plan.spec or {}).get("workflows") or () if w.get("name") == workflow), None)
    raw = (wf or {}).get("cutover_window")
    return CutoverWindow.model_validate(raw) if raw else None


@dataclass(frozen=True)
class WindowAnswer:
    open: bool
    next_opening: datetime | None   # when closed: the next opening (the window's zone)
    text: str                       # "next: Sat 2026-03-28 22:00 Europe/Berlin (CET)" or "open until ..."


def window_allows(window: CutoverWindow | None, step: str, now: datetime) -> WindowAnswer:
    """May `step` start at `now`? Only Cutover and SourceClear are windowed."""
    if window is None or step not in {s.value for s in WINDOWED_STEPS}:
        return WindowAnswer(True, None, "")
    current = open_window(window, now)
    if current is not None:
        return WindowAnswer(True, None, f"open until {describe(current[1], window)}")
    nxt = next_opening(window, now)
    return WindowAnswer(False, nxt, f"next: {describe(nxt, window)}")


def window_message(step: str, server: str, answer: WindowAnswer) -> str:
    return f"{step} of {server} waits for its window ({answer.text})"


# ---- automated checks --------------------------------------------------------------------------------------

def checks_of(spec: dict[str, Any], workflow: str) -> list[dict[str, Any]]:
    wf = next((w for w in spec.get("workflows") or () if w.get("name") == workflow), {})
    return list(((wf.get("validation") or {}).get("checks")) or ())


def verdicts(results: Iterable[dict[str, Any]] | None) -> list[tuple[str, bool]]:
    return [(r.get("name", ""), bool(r.get("passed"))) for r in results or ()]


def failed_checks(results: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [r for r in results or () if not r.get("passed")]


def not_run(checks: Iterable[dict[str, Any]], why: str) -> list[dict[str, Any]]:
    """Every check failed, unrun, saying why (the instance is gone, the cloud did not answer): the gate waits with
    the reason as its evidence instead of the apply ending for every server."""
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [{"name": c["name"], "on": "", "kind": "command" if c.get("command") else "http", "passed": False,
             "detail": f"not run: {why}", "output": "", "at": at, "seconds": 0.0} for c in checks]


def checks_summary(results: list[dict[str, Any]] | None) -> str:
    """`2 of 3 passed; failed: web (exit 1)`, for gate messages, the summary and notifications."""
    if not results:
        return ""
    failed = failed_checks(results)
    text = f"{len(results) - len(failed)} of {len(results)} passed"
    if failed:
        text += "; failed: " + ", ".join(f"{r['name']} ({r.get('detail') or 'failed'})" for r in failed)
    return text
