"""`apply`, `approve`, `status` and `state`: run a plan, approve its gates, see where servers stand.

Exit codes of apply: 0 everything done, 3 stopped only at manual gates (or queued behind the account-wide
cap), 4 returned at the --max-wait deadline with cloud work in progress, 1 a step failed or a refusal (stale
or edited plan file, lock held).
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from mgc_iac.cli._output import print_diagnostics, use_color
from mgc_iac.cli._pipeline import Duration, deadline, lock_stack, stack_name
from mgc_iac.engine.hooks import Hooks
from mgc_iac.visible import visible_line


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


def _is_plan_file(path: Path) -> bool:
    return path.is_file() and path.suffix == ".json"


def _store_for(stack_dir: Path | None, spec: dict[str, Any], *, read_only: bool = False,
               new_state: bool = False):  # -> StateStore
    """The stack's state: read-only for commands that only read it; a writer refuses, in CI, a location
    holding no state unless `new_state`."""
    import os

    from mgc_iac.state import STATE_ENV, default_state_path, open_for_writing, open_store

    if stack_dir is None and not os.environ.get(STATE_ENV):
        raise click.UsageError(f"cannot tell where the state is: pass --stack-dir or set {STATE_ENV}")
    state = spec.get("state") or {}
    location = default_state_path(stack_dir or Path.cwd(), state.get("path"), state.get("url"))
    return open_store(location, read_only=True) if read_only else open_for_writing(location, new_state=new_state)


def _approvals_file(stack_dir: Path | None):  # -> ApprovalsFile | None
    from mgc_iac.approvals import approvals_path, load_approvals_file

    path = approvals_path(stack_dir) if stack_dir is not None else None
    return load_approvals_file(path) if path is not None else None


def _stack_dir_of(stack: Path) -> Path:
    return stack if stack.is_dir() else stack.parent


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
@click.option("--new-state", is_flag=True,
              help="In CI (CI set): start a new state on purpose. Without it, an empty state location or a missing "
                   "state file is refused in CI.")
def apply_cmd(target: Path, auto_approve: bool, parallelism: int, stack_dir: Path | None, refresh: bool,
              no_progress: bool, max_wait: float | None, reviewed_plan: Path | None, continue_only: bool,
              new_state: bool) -> None:
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
    if (reviewed_plan or continue_only) and _is_plan_file(target):
        raise click.UsageError("--reviewed-plan and --continue-only apply a STACK directory (a plan file is already "
                               "exactly what is applied)")
    with ExitStack() as resources:
        _apply(resources, target, auto_approve, parallelism, stack_dir, deadline(max_wait), refresh, no_progress,
               _Pipeline(reviewed_plan, continue_only, new_state))


class _Pipeline:
    """What a pipeline job asks apply to hold to (see mgc_iac/plan/reviewed.py)."""

    def __init__(self, reviewed: Path | None = None, continue_only: bool = False, new_state: bool = False) -> None:
        self.reviewed, self.continue_only, self.new_state = reviewed, continue_only, new_state


def _apply(resources: ExitStack, target: Path, auto_approve: bool, parallelism: int, stack_dir: Path | None,
           until: float | None, refresh: bool, no_progress: bool, pipeline: _Pipeline | None = None) -> None:
    from mgc_iac.approvals.environment import trust_for
    from mgc_iac.cli._live import progress_hooks
    from mgc_iac.cli._replan import replan_for_file, stack_dir_for
    from mgc_iac.cloud.endpoint import cloud_config
    from mgc_iac.engine import CloudSteps, Engine, EngineOptions
    from mgc_iac.operations.planning import plan_stack
    from mgc_iac.plan.planfile import plan_digest, read_plan
    from mgc_iac.render import render_plan

    color = use_color()
    expected_serial = None
    pipeline = pipeline or _Pipeline()
    if _is_plan_file(target):
        proposed, _ = read_plan(target)
        directory = stack_dir_for(target, stack_dir, proposed.provenance.stack_dir)
        name, spec = stack_name(directory)
        store = _store_for(directory, spec, new_state=pipeline.new_state)
        resources.callback(store.close)
        lock_stack(resources, store, name)  # before planning: a refusal comes before any work
        planned, digest = replan_for_file(target, directory, store, refresh=refresh, new_state=pipeline.new_state)
        plan = planned.plan
        if proposed.provenance.signature:
            _record_plan_signature(trust_for(plan.stack, plan.spec, directory, store), store, plan,
                                   proposed.provenance.signature)
        expected_serial = plan.state_serial
    else:
        from mgc_iac.plan.reviewed import check_continues, check_reviewed

        directory = _stack_dir_of(target)
        name, spec = stack_name(target)
        store = _store_for(directory, spec, new_state=pipeline.new_state)
        resources.callback(store.close)
        lock_stack(resources, store, name)
        planned = plan_stack(target, store=store, refresh_resources=refresh, new_state=pipeline.new_state)
        plan = planned.plan
        digest = plan_digest(plan)
        if pipeline.continue_only:
            check_continues(plan, store.last_applied(plan.stack))
        if pipeline.reviewed is not None:
            click.echo(check_reviewed(plan, digest, pipeline.reviewed))
        print_diagnostics(_warnings(planned))
        expected_serial = plan.state_serial  # someone else applying between plan and apply makes it stale
        click.echo(render_plan(plan, "text", color=color, digest=digest, approved=planned.approved), nl=False)
        if not plan.has_changes:
            click.echo("Nothing to apply.")
            return
        if not auto_approve:
            if not sys.stdin.isatty():
                raise click.UsageError("not a terminal: pass --auto-approve to apply without a confirmation "
                                       "(manual gates still need `mgc-iac approve`)")
            click.confirm("Apply this plan?", abort=True)
    from mgc_iac.ssh.hosts import MigrationHosts

    trust = trust_for(plan.stack, plan.spec, directory, store)
    cloud = cloud_config(plan.spec, directory)
    runner = CloudSteps(cloud, hosts=MigrationHosts(plan.spec, directory, cloud))
    with progress_hooks(plan, _PrintHooks(), no_progress) as hooks:  # the live view on a terminal
        engine = Engine(plan, digest, store, runner, hooks=hooks,
                        approvals_file=_approvals_file(directory), trust=trust,
                        options=EngineOptions(parallelism=parallelism, expected_serial=expected_serial,
                                              replan_digest=_replanner(directory, store), deadline=until))
        result = engine.run()
    resources.close()
    _summary(result, directory, trust.require_signatures, trust.environment)
    raise SystemExit(result.exit_code)


def _record_plan_signature(trust, store, plan, signature: str) -> None:  # noqa: ANN001 - Trust, StateStore, Plan
    """A signed plan file names its author: verified here (ignored when it does not verify) and recorded."""
    from mgc_iac.approvals import plan_message
    from mgc_iac.approvals.sshsig import PLAN_NAMESPACE
    from mgc_iac.errors import ApprovalError, ConfigError

    try:
        principal = trust.principal(plan_message(plan.stack, plan.spec_digest, trust.environment), signature,
                                    PLAN_NAMESPACE)
    except (ApprovalError, ConfigError) as exc:
        click.echo(f"  ! the plan file's signature does not count here: {exc}", err=True)
        return
    with store.transaction(plan.stack) as txn:
        txn.add_plan_signature(plan.spec_digest, principal, signature)


def _replanner(directory: Path | None, store):  # -> Callable[[], str] | None
    if directory is None:
        return None

    def digest() -> str:
        from mgc_iac.operations.planning import plan_stack
        from mgc_iac.plan.planfile import plan_digest

        return plan_digest(plan_stack(directory, store=store).plan)

    return digest


def _warnings(planned):  # -> Diagnostics
    from mgc_iac.diagnostics import Diagnostics

    return Diagnostics(list(planned.checked.diagnostics.warnings))


def _summary(result, directory: Path | None, signed: bool = False, env=None) -> None:  # noqa: ANN001 - Environment
    where = str(directory) if directory is not None else result.stack
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
        how = "--key ~/.ssh/id_ed25519" if signed else "--by NAME"
        click.echo(f"Approve with: mgc-iac approve {where} {gates} {how}")
        if digest and env is not None and signed:
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
    elif result.exit_code == 0:
        click.echo("Apply complete.")


@click.command("status")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--watch", is_flag=True, help="Follow the stack while an apply runs it elsewhere (never takes its lock).")
@click.option("--interval", type=click.FloatRange(0.1), default=2.0, show_default=True, help="Seconds between reads.")
def status_cmd(stack: Path, fmt: str, watch: bool, interval: float) -> None:
    """Where each server of STACK stands: current step, state, progress, gates waiting, queue position."""
    from mgc_iac.engine.status import stack_status
    from mgc_iac.operations.planning import plan_stack

    planned = plan_stack(stack)
    plan = planned.plan
    store = _store_for(_stack_dir_of(stack), plan.spec, read_only=True)
    if watch:
        from mgc_iac.cli.status_watch import watch_status

        try:
            return watch_status(plan, store, interval, fmt)
        finally:
            store.close()
    try:
        status = stack_status(plan, store.snapshot(plan.stack), approved=planned.approved)
        # what approvals are bound to (with the cloud account); none before the first apply
        status["environment_id"] = None if getattr(store, "empty", False) else store.environment_id()
        lock = store.lock_info(plan.stack)
    finally:
        store.close()
    if lock is not None:
        status["lock"] = {"pid": lock.pid, "host": lock.host, "since": lock.since, "operation": lock.operation,
                          "id": lock.lock_id}
    if fmt == "json":
        click.echo(json.dumps(status, indent=2, sort_keys=True))
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


def _verification_line(verification: dict[str, Any]) -> str:
    from mgc_iac.engine.status import verification_verdict

    rows = verification.get("results") or []
    dirs = "; ".join(f"{r['dir']}: nothing compared (0 files)" if not r.get("total") else
                     f"{r['dir']}: {r['total']} files, {r['different']} different, {r['missing']} missing, "
                     f"{r['extra']} extra" for r in rows)
    label = verification.get("label") or "verification"
    return f"    {label}: {verification_verdict(verification)}: {dirs or 'no result'}"


@click.group("state")
def state_group() -> None:
    """Inspect or repair recorded state."""


@state_group.command("unlock")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--force", "lock_id", metavar="LOCK_ID",
              help="Remove the lock with this id even though its holder looks alive (the id `status` and a "
                   "refused unlock print). Only when you know that apply is gone. With PostgreSQL state this "
                   "also ends the holder's database session.")
def unlock_cmd(stack: Path, lock_id: str | None) -> None:
    """Remove the state lock of STACK left by a process that is gone.

    Refused while the holder runs on this host, or when another host took the lock recently (24 h): then
    check that apply is really gone and pass `--force LOCK_ID`, as `terraform force-unlock LOCK_ID`.
    """
    from mgc_iac.errors import StateLockedError
    from mgc_iac.operations.planning import check
    from mgc_iac.state.locks import why_held

    checked = check(stack)
    spec = checked.loaded.canonical
    name = checked.loaded.stack.metadata.name
    store = _store_for(_stack_dir_of(stack), spec)
    try:
        lock = store.lock_info(name)
        if lock is None:
            click.echo("no lock was held")
            return
        if lock_id is not None and lock_id != lock.lock_id:
            raise StateLockedError(f"the lock of `{name}` has id {lock.lock_id}, not {lock_id}: it may be another "
                                   "apply's lock; run `mgc-iac status` and check again")
        reason = why_held(lock) if lock_id is None else None
        if reason is not None:
            raise StateLockedError(f"not unlocked: {reason}. If that apply is really gone, run `mgc-iac state unlock "
                                   f"{stack} --force {lock.lock_id}`")
        held = store.force_unlock(name, lock.lock_id)
    finally:
        store.close()
    if held is None:
        raise StateLockedError(f"the lock of `{name}` changed while unlocking; run `mgc-iac status` and check again")
    click.echo(f"removed the lock {held.lock_id} of pid {held.pid} on {held.host} ({held.operation})")


@state_group.command("journal")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--limit", type=int, default=50, show_default=True)
def journal_cmd(stack: Path, limit: int) -> None:
    """The last entries of STACK's write-ahead journal (before/after records of each step)."""
    from mgc_iac.operations.planning import check

    checked = check(stack)
    store = _store_for(_stack_dir_of(stack), checked.loaded.canonical, read_only=True)
    try:
        entries = store.journal(checked.loaded.stack.metadata.name, limit)
    finally:
        store.close()
    for e in entries:
        click.echo(f"{e.seq:>6} {e.at} {e.phase:<11} {e.address} {json.dumps(e.detail, sort_keys=True)}")


def _stack_and_store(stack: Path):  # -> (stack name, spec, store)
    from mgc_iac.operations.planning import check

    checked = check(stack)
    spec = checked.loaded.canonical
    return checked.loaded.stack.metadata.name, spec, _store_for(_stack_dir_of(stack), spec)


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
    from mgc_iac.engine.rewind import full_retry, full_retry_target, retry

    name, spec, store = _stack_and_store(stack)
    try:
        with store.lock(name, "retry"):
            if not full:
                moved = retry(store, name, server)
            else:
                from mgc_iac.cloud.endpoint import cloud_config
                from mgc_iac.providers.migration_task import delete_task, poll_interval

                task = full_retry_target(store, name, server)
                cloud = cloud_config(spec, _stack_dir_of(stack))
                if task is not None and task.outputs.get("id") and not task.outputs.get("cleared"):
                    delete_task(cloud, str(task.outputs["id"]), interval=poll_interval(spec, server.split("/")[0]))
                moved = full_retry(store, name, server, task)
    finally:
        store.close()
    if full:
        click.echo(f"{server}: the task is deleted; {len(moved)} step(s) will run again from StartUpAgent.")
    else:
        click.echo(f"{server}: {moved[0].rsplit('/', 1)[-1]} will run again ({len(moved)} step(s) reset).")
    click.echo(f"Run `mgc-iac apply {stack}` to go on.")


@click.command("sync")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.argument("server", metavar="WORKFLOW/SERVER")
def sync_cmd(stack: Path, server: str) -> None:
    """Run the incremental synchronization of SERVER again (while it waits at BusinessValidation)."""
    from mgc_iac.engine.rewind import resync

    name, _spec, store = _stack_and_store(stack)
    try:
        with store.lock(name, "sync"):
            moved = resync(store, name, server)
    finally:
        store.close()
    click.echo(f"{server}: {len(moved)} step(s) will run again from StartSynchronization; the plan changed, so "
               "BusinessValidation needs a new approval.")
    click.echo(f"Run `mgc-iac apply {stack}` to go on.")


state_group.add_command(__import__("mgc_iac.cli.state_export", fromlist=["export_cmd"]).export_cmd)
state_group.add_command(__import__("mgc_iac.cli.state_migrate", fromlist=["migrate_cmd"]).migrate_cmd)
