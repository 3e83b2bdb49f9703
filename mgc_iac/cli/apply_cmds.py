"""`apply`, `status`, `retry` and `sync`: parse, call the operation (mgc_iac.operations), render its result.

Exit codes of apply: 0 everything done, 3 stopped only at manual gates (or queued behind the account-wide
cap), 4 returned at the --max-wait deadline with cloud work in progress, 1 a step failed or a refusal (stale
or edited plan file, lock held).
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mgc_iac.cli._output import emit, format_option, print_diagnostics, use_color
from mgc_iac.cli._pipeline import Duration, deadline, new_state_option
from mgc_iac.engine import Hooks
from mgc_iac.visible import visible_line

if TYPE_CHECKING:
    from mgc_iac.operations import Applied, Planned
    from mgc_iac.plan import Plan


class _PrintHooks(Hooks):
    """Progress lines on stderr (stdout keeps the summary, for pipelines)."""

    def __init__(self) -> None:
        self._pushback: dict[str, float] = {}   # endpoint -> when its pressure was last printed

    def api_pressure(self, endpoint: str, text: str | None) -> None:
        """An endpoint pushing back: printed when it starts, then every 30 s while it lasts, and when it ends."""
        import time

        now = time.monotonic()
        if text is None:
            if self._pushback.pop(endpoint, None) is not None:
                click.echo(f"  ! {endpoint.split(' ', 1)[0].upper()} answers again", err=True)
            return
        if now - self._pushback.get(endpoint, float("-inf")) >= 30:
            self._pushback[endpoint] = now
            click.echo(f"  ! {text}", err=True)

    def step_started(self, gate: str, attempt: int) -> None:
        click.echo(f"  > {gate}" + (f" (attempt {attempt})" if attempt > 1 else ""), err=True)

    def step_finished(self, gate: str, status: str, detail: dict[str, Any]) -> None:
        extra = ""
        if status == "failed":
            extra = f": {visible_line(detail.get('error'))}"
        elif status == "queued":
            extra = f": position {detail.get('queue_position')} in the account-wide queue"
        click.echo(f"  {'x' if status == 'failed' else '-'} {gate}: {status}{extra}", err=True)

    def resource_changed(self, address: str, action: str) -> None:
        click.echo(f"  - {address}: {action}", err=True)

    def notified(self, workflow: str, event: str) -> None:
        click.echo(f"  - notified {workflow}: {event}", err=True)

    def message(self, text: str) -> None:
        click.echo(f"  ! {visible_line(text)}", err=True)


class _TerminalView:
    """How apply shows its work here: the plan of a stack, a confirmation, the live view (or plain lines)."""

    def __init__(self, no_progress: bool) -> None:
        self.no_progress = no_progress

    def planned(self, planned: Planned, digest: str) -> None:
        from mgc_iac.diagnostics import Diagnostics
        from mgc_iac.render import render_plan

        print_diagnostics(Diagnostics(list(planned.checked.diagnostics.warnings)))
        click.echo(render_plan(planned.plan, "text", color=use_color(), digest=digest, approved=planned.approved),
                   nl=False)

    def confirm(self, plan: Plan) -> bool:
        if not sys.stdin.isatty():
            raise click.UsageError("not a terminal: pass --auto-approve to apply without a confirmation "
                                   "(manual gates still need `mgc-iac approve`)")
        click.confirm("Apply this plan?", abort=True)
        return True

    def progress(self, plan: Plan) -> AbstractContextManager[Hooks]:
        from mgc_iac.cli._live import progress_hooks

        return progress_hooks(plan, _PrintHooks(), self.no_progress)  # the live view on a terminal

    def note(self, text: str) -> None:
        click.echo(f"  ! {visible_line(text)}", err=True)

    def reviewed(self, text: str) -> None:
        click.echo(text)


class _JsonHooks(Hooks):
    """Each engine event as one `apply-event` JSON line on stdout, and as the plain progress line on stderr."""

    def __init__(self) -> None:
        import threading

        self._lines = _PrintHooks()
        self._lock = threading.Lock()  # one whole line at a time, whichever thread reports

    def _event(self, event: str, **fields: Any) -> None:
        from mgc_iac.render import apply_event

        with self._lock:
            emit(apply_event(event, **fields), lines=True)

    def api_pressure(self, endpoint: str, text: str | None) -> None:
        self._lines.api_pressure(endpoint, text)
        self._event("api_pressure", endpoint=endpoint, text=text)

    def step_started(self, gate: str, attempt: int) -> None:
        self._lines.step_started(gate, attempt)
        self._event("step_started", gate=gate, attempt=attempt)

    def step_progress(self, gate: str, progress: dict[str, Any]) -> None:
        self._event("step_progress", gate=gate, progress=progress)

    def step_finished(self, gate: str, status: str, detail: dict[str, Any]) -> None:
        self._lines.step_finished(gate, status, detail)
        self._event("step_finished", gate=gate, status=status, detail=detail)

    def resource_changed(self, address: str, action: str) -> None:
        self._lines.resource_changed(address, action)
        self._event("resource_changed", address=address, action=action)

    def notified(self, workflow: str, event: str) -> None:
        self._lines.notified(workflow, event)
        self._event("notified", workflow=workflow, text=event)

    def message(self, text: str) -> None:
        self._lines.message(text)
        self._event("message", text=text)


class _JsonView(_TerminalView):
    """apply --format json: the plan as text on stderr, never a question, the engine's events as JSON lines."""

    def planned(self, planned: Planned, digest: str) -> None:
        from mgc_iac.diagnostics import Diagnostics
        from mgc_iac.render import render_plan

        print_diagnostics(Diagnostics(list(planned.checked.diagnostics.warnings)))
        click.echo(render_plan(planned.plan, "text", color=False, digest=digest, approved=planned.approved),
                   nl=False, err=True)

    def confirm(self, plan: Plan) -> bool:
        raise click.UsageError("--format json never asks: pass --auto-approve to apply this plan (manual gates "
                               "still need `mgc-iac approve`), or apply a reviewed plan file")

    def progress(self, plan: Plan) -> AbstractContextManager[Hooks]:
        from contextlib import nullcontext

        return nullcontext(_JsonHooks())

    def note(self, text: str) -> None:
        _JsonHooks().message(text)

    def reviewed(self, text: str) -> None:
        _JsonHooks().message(text)


@click.command("apply")
@click.argument("target", metavar="STACK|PLAN_FILE", type=click.Path(path_type=Path, exists=True))
@click.option("--auto-approve", is_flag=True,
              help="Do not ask before applying a stack. Never passes a manual gate: those need `approve`.")
@click.option("--parallelism", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Steps working at once (cloud calls, SSH). A step that only waits on SMS (a copy, a cutover) "
                   "lends its place meanwhile, so every server's migration can run.")
@click.option("--stack-dir", type=click.Path(path_type=Path, file_okay=False),
              help="With a plan file: the stack directory (its approvals.yaml, lab-seed.yaml and state); "
                   "default: the directory recorded in the plan, relative to where it was made.")
@click.option("--refresh", type=click.BOOL, default=True, show_default=True, metavar="BOOL",
              help="Read every recorded resource from the cloud before acting, and repair what changed outside "
                   "mgc-iac (a plan file is refused when the cloud changed since it was made). "
                   "--refresh=false trusts the records.")
@click.option("--no-progress", is_flag=True,
              help="Plain progress lines even on a terminal (the default without a terminal or when CI is set).")
@click.option("--max-wait", type=Duration(), default=None, metavar="DURATION",
              help="Return after DURATION (90s, 10m, 1h30m) while cloud work goes on, with exit code 4; the next "
                   "apply picks every running step up where the cloud has it. For pipelines with time limits.")
@click.option("--reviewed-plan", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The plan a pull request's job made and its comment showed: refused unless the fresh plan is that "
                   "plan, or (the state moved on since) has the same spec. For the apply job after merge.")
@click.option("--continue-only", is_flag=True,
              help="Refuse a spec other than the one the last apply ran: a scheduled job only moves on a migration a "
                   "reviewed apply started.")
@new_state_option("start a new state")
@format_option("JSON lines on stdout: one `apply-event` per engine event (step_started, step_progress, "
               "step_finished, resource_changed, notified, message, api_pressure; "
               "schemas/output/apply-event.schema.json), then the `apply-result` as the last line: exit code, "
               "steps done, gates waiting and for whom, failures, queue, the digest to approve and the "
               "environment (schemas/output/apply-result.schema.json). The plan and progress lines go to "
               "stderr; it never asks (a stack with changes needs --auto-approve).")
def apply_cmd(target: Path, auto_approve: bool, parallelism: int, stack_dir: Path | None, refresh: bool,
              no_progress: bool, max_wait: float | None, reviewed_plan: Path | None, continue_only: bool,
              new_state: bool, fmt: str) -> None:
    """Apply STACK (plan it, show the plan, confirm) or exactly the plan in PLAN_FILE.

    A plan file is a proposal, never an authority: apply re-plans the stack against current state and refuses
    the file (exit 1, naming what differs) unless the fresh plan's digest equals the file's; what runs is the
    fresh plan, so steps and gates always come from the spec, the state and the approval policy. Apply runs
    every automated step and stops at each manual checkpoint until it is approved (exit code 3): it prints
    what waits for whom and the plan digest to approve. Run it again after `mgc-iac approve`; a killed apply
    resumes where it stopped. The stack's lock is taken first, before planning.

    Waiting on the cloud: one paged read of the account's SMS tasks and sources serves every waiting server,
    first after half of the workflow's `advanced.poll_interval` (default 10s, as Huawei's Terraform provider),
    then every poll_interval. Calls share one rate limit per service endpoint: a throttled endpoint (HTTP 429,
    APIGW.0308) is waited out with Retry-After or growing, jittered waits, shown as "SMS throttled (429); next
    try in 8 s; 3 servers waiting on it" (`cloud.max_requests_per_second` caps the rate).

    Stalls: a running step that shows no progress (task state, bytes copied, answers) for the workflow's
    `advanced.stall_timeout` (default 30m), or whose calls are all throttled or unanswered that long, fails with
    "no progress for N min since ..." naming the endpoint and its error; `mgc-iac retry` or a new apply runs it
    again from a safe point (a copy is stopped and started again).

    Exit codes: 0 done, 1 error or a failed step, 3 waiting at gates (or queued behind the account-wide cap),
    4 in progress (--max-wait ran out while the cloud works: apply again later), 130 interrupted (Ctrl-C).
    """
    from mgc_iac.operations import ApplyRequest, apply, is_plan_file, open_for_apply

    if (reviewed_plan or continue_only) and is_plan_file(target):
        raise click.UsageError("--reviewed-plan and --continue-only apply a STACK directory (a plan file is already "
                               "exactly what is applied)")
    request = ApplyRequest(plan_file=target if is_plan_file(target) else None, auto_approve=auto_approve,
                           parallelism=parallelism, refresh=refresh, deadline=deadline(max_wait),
                           reviewed_plan=reviewed_plan, continue_only=continue_only, new_state=new_state)
    with open_for_apply(target, stack_dir, new_state=new_state) as ws:
        applied = apply(ws, request, _JsonView(True) if fmt == "json" else _TerminalView(no_progress))
    if fmt == "json":
        from mgc_iac.render import apply_result

        emit(apply_result(applied.stack, applied.result, nothing_to_apply=applied.nothing_to_apply,
                          environment=applied.environment, signatures_required=applied.signed), lines=True)
        raise SystemExit(applied.exit_code)
    if applied.nothing_to_apply:
        click.echo("Nothing to apply.")
        return
    _summary(applied)
    raise SystemExit(applied.exit_code)


def _summary(applied: Applied) -> None:
    result, env = applied.result, applied.environment
    assert result is not None
    where = str(applied.directory)
    click.echo(f"\n{len(result.done)} step(s) done.")
    for gate, error in result.failed.items():
        click.echo(f"FAILED {gate}: {visible_line(error)}")
    for address, position in result.queued.items():
        click.echo(f"QUEUED {address}: position {position} (the account-wide cap of concurrent migrations)")
    for address, reason in result.blocked.items():
        click.echo(f"BLOCKED {address}: {reason}")
    for message in result.scheduled.values():
        click.echo(f"SCHEDULED {message}")
    if result.waiting:
        digest = result.approve_digest
        click.echo("Waiting for approval" + (f" of plan {digest}:" if digest else ":"))
        for waiting in result.waiting:
            click.echo(f"  {waiting.gate}: needs {visible_line(waiting.reason)}")
        gates = " ".join(f"--gate {w.gate}" for w in result.waiting)
        how = "--key ~/.ssh/id_ed25519" if applied.signed else "--by NAME"
        click.echo(f"Approve with: mgc-iac approve {where} {gates} {how}")
        if digest and env is not None and applied.signed:
            click.echo(f"In a PR, without the state backend: mgc-iac approve {where} {gates} --key "
                       f"~/.ssh/id_ed25519 --to-file --digest {digest} --environment {env.state_id} --cloud "
                       f"{env.cloud}; commit {where}/approvals.yaml; then apply again.")
        elif digest:
            click.echo(f"(or list them in {where}/approvals.yaml with plan_digest: {digest}); then apply again.")
        else:
            click.echo("(or in approvals.yaml with the digest `mgc-iac plan` shows now); then apply again.")
    for line in result.pushback:
        click.echo(f"Pushing back: {line}")
    if result.in_progress:
        click.echo(f"In progress: --max-wait is up while the cloud works on; run `mgc-iac apply {where}` again "
                   "to pick it up (exit code 4).")
    if result.interrupted:
        click.echo("Interrupted: the journal is consistent; apply again to resume.")
    elif applied.exit_code == 0:
        click.echo("Apply complete.")


@click.command("status")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@format_option("one `status` document on stdout: each workflow's servers with their current step, state, "
               "progress, the gate they wait at and for whom, approvals, queue position, error, checks and "
               "verification, and the lock (schemas/output/status.schema.json). With --watch: one `status-change` "
               "JSON line per server that moved (schemas/output/status-change.schema.json).")
@click.option("--watch", is_flag=True, help="Follow the stack while an apply runs it elsewhere (never takes its lock).")
@click.option("--interval", type=click.FloatRange(0.1), default=2.0, show_default=True, help="Seconds between reads.")
def status_cmd(stack: Path, fmt: str, watch: bool, interval: float) -> None:
    """Where each server of STACK stands: current step, state, progress, gates waiting, queue position.

    With --watch it only reads: every INTERVAL it prints what moved since the last read (one line per server
    whose step or state changed; JSON lines with --format json), and ends when no server is running or queued
    and no apply holds the lock, or on Ctrl-C.
    """
    from mgc_iac.operations import Workspace
    from mgc_iac.operations import status as read_status
    from mgc_iac.operations import watch as watch_status

    with Workspace.open(stack) as ws:  # read-only: status never writes, never takes the lock
        if watch:
            _watched(watch_status(ws, interval, _moved(fmt)), fmt)
            return
        found = read_status(ws)
    status, lock = found.report, found.lock
    if fmt == "json":
        from mgc_iac.render import status as status_document

        emit(status_document(status))
        return
    click.echo(f"stack {status['stack']} (state serial {status['serial']}, environment {status['environment_id']})")
    for wf in status["workflows"]:
        click.echo(f"workflow {wf['name']}")
        for s in wf["servers"]:
            line = f"  {s['server']:<20} {s['progress']:>5}  {s['current_step'] or '-':<22} {s['state']}"
            if s.get("approved"):
                line += f"  {visible_line(s['approved']['text'])}"
            elif s.get("gate"):
                line += f"  waits: {visible_line(s.get('needs'))}"
            if s.get("queue_position"):
                line += f"  queue position {s['queue_position']}"
            if s.get("blocked_by"):
                line += f"  {s['blocked_by']}"
            if s.get("window"):
                line += f"  window {s['window']}"
            if s.get("error"):
                line += f"  error: {visible_line(s['error'])}"
            click.echo(line)
            if s.get("verification"):
                click.echo(_verification_line(s["verification"]))
            for gate, results in (s.get("checks") or {}).items():
                click.echo(f"    checks before {gate}: " + "; ".join(
                    f"{r['name']} {'passed' if r['passed'] else 'FAILED'} ({r['detail']})" for r in results))
    if lock is not None:
        click.echo(f"locked by {lock.describe()}")


def _moved(fmt: str):  # -> Callable[[Moved], None]
    import time

    def show(moved: Any) -> None:
        if fmt == "json":
            from mgc_iac.render import status_change

            emit(status_change(moved.server, moved.progress, moved.step, moved.state, moved.serial), lines=True)
        else:
            click.echo(f"{time.strftime('%H:%M:%S')} {moved.server:<32} {moved.progress:>5}  {moved.step:<22} "
                       f"{moved.state}")

    return show


def _watched(watched: Any, fmt: str) -> None:
    if fmt == "json":
        return
    held = f"; locked by {watched.lock.describe()}" if watched.lock is not None else ""
    click.echo(f"stack {watched.stack} at state serial {watched.serial}: nothing is running{held}"
               if not watched.busy else f"stack {watched.stack} at state serial {watched.serial}{held}")


def _verification_line(verification: dict[str, Any]) -> str:
    rows = verification.get("results") or []
    dirs = "; ".join(f"{r['dir']}: nothing compared (0 files)" if not r.get("total") else
                     f"{r['dir']}: {r['total']} files, {r['different']} different, {r['missing']} missing, "
                     f"{r['extra']} extra" for r in rows)
    label = verification.get("label") or "verification"  # which verification ran (engine/status.py)
    return f"    {label}: {verification['verdict']}: {dirs or 'no result'}"  # status gives the verdict


@click.command("retry")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.argument("server", metavar="WORKFLOW/SERVER")
@click.option("--full", is_flag=True,
              help="Full Retry: delete the SMS task and start again from StartUpAgent (after a source reboot).")
def retry_cmd(stack: Path, server: str, full: bool) -> None:
    """Retry SERVER's failed step, or (--full) run it again from StartUpAgent; then run `mgc-iac apply`.

    Retry (after a network fault, the agent still runs on the source): the failed step runs again and the copy
    resumes where it stopped (finished files are not copied again).
    Full Retry (after a source reboot, the agent is gone): the migration task is deleted, and the server starts
    again from StartUpAgent (the SMS-Agent started again on the source, a new task, full replication; the
    migrated data is overwritten).
    """
    from mgc_iac.operations import open_for_repair, retry

    with open_for_repair(stack, "retry") as ws:
        rewound = retry(ws, server, full=full)
    if full:
        click.echo(f"{server}: the task is deleted; {len(rewound.steps)} step(s) will run again from StartUpAgent.")
    else:
        click.echo(f"{server}: {rewound.steps[0].rsplit('/', 1)[-1]} will run again ({len(rewound.steps)} step(s) "
                   "reset).")
    click.echo(f"Run `mgc-iac apply {stack}` to go on.")


@click.command("sync")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.argument("server", metavar="WORKFLOW/SERVER")
def sync_cmd(stack: Path, server: str) -> None:
    """Run the incremental synchronization of SERVER again (while it waits at BusinessValidation)."""
    from mgc_iac.operations import open_for_repair, resync

    with open_for_repair(stack, "sync") as ws:
        rewound = resync(ws, server)
    click.echo(f"{server}: {len(rewound.steps)} step(s) will run again from StartSynchronization; the plan changed, "
               "so BusinessValidation needs a new approval.")
    click.echo(f"Run `mgc-iac apply {stack}` to go on.")
