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


class _PrintHooks(Hooks):
    """Progress lines on stderr (stdout keeps the summary, for pipelines)."""

    def step_started(self, gate: str, attempt: int) -> None:
        click.echo(f"  > {gate}" + (f" (attempt {attempt})" if attempt > 1 else ""), err=True)

    def step_finished(self, gate: str, status: str, detail: dict[str, Any]) -> None:
        extra = ""
        if status == "failed":
            extra = f": {detail.get('error')}"
        elif status == "queued":
            extra = f": position {detail.get('queue_position')} in the account-wide queue"
        click.echo(f"  {'x' if status == 'failed' else '-'} {gate}: {status}{extra}", err=True)

    def resource_changed(self, address: str, action: str) -> None:
        click.echo(f"  - {address}: {action}", err=True)

    def notified(self, workflow: str, event: str) -> None:
        click.echo(f"  - notified {workflow}: {event}", err=True)

    def message(self, text: str) -> None:
        click.echo(f"  ! {text}", err=True)


def _is_plan_file(path: Path) -> bool:
    return path.is_file() and path.suffix == ".json"


def _store_for(stack_dir: Path | None, spec: dict[str, Any]):  # -> StateStore
    import os

    from mgc_iac.state import STATE_ENV, default_state_path, open_store

    if stack_dir is None and not os.environ.get(STATE_ENV):
        raise click.UsageError(f"cannot tell where the state is: pass --stack-dir or set {STATE_ENV}")
    state = spec.get("state") or {}
    return open_store(default_state_path(stack_dir or Path.cwd(), state.get("path"), state.get("url")))


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
              help="Steps running at once.")
@click.option("--stack-dir", type=click.Path(path_type=Path, file_okay=False),
              help="With a plan file: the stack directory (its approvals.yaml, lab-seed.yaml and state); "
                   "default: the directory recorded in the plan, relative to where it was made.")
@click.option("--max-wait", type=Duration(), default=None, metavar="DURATION",
              help="Return after DURATION (90s, 10m, 1h30m) while cloud work goes on, with exit code 4; the next "
                   "apply picks every running step up where the cloud has it. For pipelines with time limits.")
def apply_cmd(target: Path, auto_approve: bool, parallelism: int, stack_dir: Path | None,
              max_wait: float | None) -> None:
    """Apply STACK (plan it, show the plan, confirm) or exactly the plan in PLAN_FILE.

    A plan file is refused when it was edited or when the state changed since it was made. Apply runs every
    automated step and stops at each manual checkpoint until it is approved (exit code 3): it prints what
    waits for whom and the plan digest to approve. Run it again after `mgc-iac approve`; a killed apply
    resumes where it stopped. The stack's lock is taken first, before planning.

    Exit codes: 0 done, 1 error or a failed step, 3 waiting at gates (or queued behind the account-wide cap),
    4 in progress (--max-wait ran out while the cloud works: apply again later).
    """
    with ExitStack() as resources:
        _apply(resources, target, auto_approve, parallelism, stack_dir, deadline(max_wait))


def _apply(resources: ExitStack, target: Path, auto_approve: bool, parallelism: int, stack_dir: Path | None,
           until: float | None) -> None:
    from mgc_iac.connect import cloud_config
    from mgc_iac.engine import CloudSteps, Engine, EngineOptions
    from mgc_iac.plan.planfile import plan_digest, read_plan
    from mgc_iac.planning import plan_stack
    from mgc_iac.render import render_plan

    color = use_color()
    expected_serial = None
    if _is_plan_file(target):
        plan, digest = read_plan(target)
        directory = stack_dir
        recorded = plan.provenance.stack_dir
        if directory is None and recorded and Path(recorded).is_dir():
            directory = Path(recorded)
        store = _store_for(directory, plan.spec)
        resources.callback(store.close)
        lock_stack(resources, store, plan.stack)
        expected_serial = plan.state_serial
        current = store.serial(plan.stack)
        if current != expected_serial:
            from mgc_iac.errors import StalePlanError

            raise StalePlanError(f"{target}: the plan was made against state serial {expected_serial}, the state "
                                 f"of `{plan.stack}` is now at {current}; make a new plan and review it")
    else:
        directory = _stack_dir_of(target)
        name, spec = stack_name(target)
        store = _store_for(directory, spec)
        resources.callback(store.close)
        lock_stack(resources, store, name)
        planned = plan_stack(target, store=store)
        plan = planned.plan
        digest = plan_digest(plan)
        print_diagnostics(_warnings(planned))
        expected_serial = plan.state_serial  # someone else applying between plan and apply makes it stale
        click.echo(render_plan(plan, "text", color=color, digest=digest), nl=False)
        if not plan.has_changes:
            click.echo("Nothing to apply.")
            return
        if not auto_approve:
            if not sys.stdin.isatty():
                raise click.UsageError("not a terminal: pass --auto-approve to apply without a confirmation "
                                       "(manual gates still need `mgc-iac approve`)")
            click.confirm("Apply this plan?", abort=True)
    from mgc_iac.connect_hosts import MigrationHosts

    cloud = cloud_config(plan.spec, directory)
    runner = CloudSteps(cloud, hosts=MigrationHosts(plan.spec, directory, cloud))
    engine = Engine(plan, digest, store, runner, hooks=_PrintHooks(),
                    approvals_file=_approvals_file(directory),
                    options=EngineOptions(parallelism=parallelism, expected_serial=expected_serial,
                                          replan_digest=_replanner(directory, store), deadline=until))
    result = engine.run()
    resources.close()
    _summary(result, directory)
    raise SystemExit(result.exit_code)


def _replanner(directory: Path | None, store):  # -> Callable[[], str] | None
    if directory is None:
        return None

    def digest() -> str:
        from mgc_iac.plan.planfile import plan_digest
        from mgc_iac.planning import plan_stack

        return plan_digest(plan_stack(directory, store=store).plan)

    return digest


def _warnings(planned):  # -> Diagnostics
    from mgc_iac.diagnostics import Diagnostics

    return Diagnostics(list(planned.checked.diagnostics.warnings))


def _summary(result, directory: Path | None) -> None:  # result: ApplyResult
    where = str(directory) if directory is not None else result.stack
    click.echo(f"\n{len(result.done)} step(s) done.")
    for gate, error in result.failed.items():
        click.echo(f"FAILED {gate}: {error}")
    for address, position in result.queued.items():
        click.echo(f"QUEUED {address}: position {position} (the account-wide cap of concurrent migrations)")
    if result.waiting:
        digest = result.approve_digest
        click.echo("Waiting for approval" + (f" of plan {digest}:" if digest else ":"))
        for waiting in result.waiting:
            click.echo(f"  {waiting.gate}: needs {waiting.reason}")
        gates = " ".join(f"--gate {w.gate}" for w in result.waiting)
        click.echo(f"Approve with: mgc-iac approve {where} {gates} --by NAME")
        if digest:
            click.echo(f"(or list them in {where}/approvals.yaml with plan_digest: {digest}); then apply again.")
        else:
            click.echo("(or in approvals.yaml with the digest `mgc-iac plan` shows now); then apply again.")
    if result.in_progress:
        click.echo(f"In progress: --max-wait is up while the cloud works on; run `mgc-iac apply {where}` again "
                   "to pick it up (exit code 4).")
    if result.interrupted:
        click.echo("Interrupted: the journal is consistent; apply again to resume.")
    elif result.exit_code == 0:
        click.echo("Apply complete.")


@click.command("approve")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--gate", "gates", multiple=True, metavar="WORKFLOW/SERVER/STEP", help="A gate to approve (repeat).")
@click.option("--all-waiting", is_flag=True, help="Approve every gate an apply stopped at.")
@click.option("--by", "approver", required=True, help="Who approves (a name or e-mail).")
@click.option("--plan", "plan_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Approve the gates of this plan file (default: plan the stack now and approve that plan).")
def approve_cmd(stack: Path, gates: tuple[str, ...], all_waiting: bool, approver: str,
                plan_file: Path | None) -> None:
    """Record APPROVER's approval of gates for the current plan of STACK (by its digest).

    The approval is bound to the plan's digest: if the spec or the state changes, the plan changes and
    the approval no longer counts. A fresh plan of the same spec and state has the same digest.
    """
    from mgc_iac.approvals import check_approval, check_requirements, combine
    from mgc_iac.errors import ApprovalError
    from mgc_iac.plan.planfile import plan_digest, read_plan
    from mgc_iac.planning import plan_stack
    from mgc_iac.spec.models import ApprovalPolicy
    from mgc_iac.state import ApprovalRecord, StepStatus
    from mgc_iac.state.sqlite import now

    directory = _stack_dir_of(stack)
    if plan_file is not None:
        plan, digest = read_plan(plan_file)
    else:
        plan = plan_stack(stack).plan
        digest = plan_digest(plan)
    store = _store_for(directory, plan.spec)
    try:
        chosen = list(gates)
        if all_waiting:
            snapshot = store.snapshot(plan.stack)
            chosen += [g for g, r in snapshot.steps.items() if r.status is StepStatus.WAITING and g not in chosen]
        if not chosen:
            raise click.UsageError("name the gates with --gate WORKFLOW/SERVER/STEP, or pass --all-waiting")
        policy = ApprovalPolicy.model_validate((plan.spec or {}).get("approvals") or {})
        refusals = check_approval(plan, digest, chosen, approver, policy, plan.provenance.author)
        if refusals:
            raise ApprovalError("not approved:\n  " + "\n  ".join(str(r) for r in refusals))
        with store.transaction(plan.stack) as txn:
            for gate in chosen:
                txn.add_approval(ApprovalRecord(gate, approver, digest, now(), "cli"))
        left = check_requirements(plan, digest, combine(_approvals_file(directory), store.approvals(plan.stack)),
                                  policy, plan.provenance.author, gates=chosen)
    finally:
        store.close()
    click.echo(f"{approver} approved {len(chosen)} gate(s) of plan {digest}:")
    for gate in chosen:
        click.echo(f"  {gate}")
    for refusal in left:
        click.echo(f"  still waiting: {refusal}")
    click.echo(f"Run `mgc-iac apply {stack}` to go on.")


@click.command("status")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--watch", is_flag=True, help="Follow the stack while an apply runs it elsewhere (never takes its lock).")
@click.option("--interval", type=click.FloatRange(0.1), default=2.0, show_default=True, help="Seconds between reads.")
def status_cmd(stack: Path, fmt: str, watch: bool, interval: float) -> None:
    """Where each server of STACK stands: current step, state, progress, gates waiting, queue position."""
    from mgc_iac.engine.status import stack_status
    from mgc_iac.planning import plan_stack

    plan = plan_stack(stack).plan
    store = _store_for(_stack_dir_of(stack), plan.spec)
    if watch:
        from mgc_iac.cli.status_watch import watch_status

        try:
            return watch_status(plan, store, interval, fmt)
        finally:
            store.close()
    try:
        status = stack_status(plan, store.snapshot(plan.stack))
        lock = store.lock_info(plan.stack)
    finally:
        store.close()
    if lock is not None:
        status["lock"] = {"pid": lock.pid, "host": lock.host, "since": lock.since, "operation": lock.operation}
    if fmt == "json":
        click.echo(json.dumps(status, indent=2, sort_keys=True))
        return
    click.echo(f"stack {status['stack']} (state serial {status['serial']})")
    for wf in status["workflows"]:
        click.echo(f"workflow {wf['name']}")
        for s in wf["servers"]:
            line = f"  {s['server']:<20} {s['progress']:>5}  {s['current_step'] or '-':<22} {s['state']}"
            if s.get("gate"):
                line += f"  waits: {s.get('needs')}"
            if s.get("queue_position"):
                line += f"  queue position {s['queue_position']}"
            if s.get("error"):
                line += f"  error: {s['error']}"
            click.echo(line)
            if s.get("verification"):
                click.echo(_verification_line(s["verification"]))
    if lock is not None:
        click.echo(f"locked by pid {lock.pid} on {lock.host} since {lock.since} ({lock.operation})")


def _verification_line(verification: dict[str, Any]) -> str:
    rows = verification.get("results") or []
    dirs = "; ".join(f"{r['dir']}: {r['total']} files, {r['different']} different, {r['missing']} missing, "
                     f"{r['extra']} extra" for r in rows)
    return f"    verification {'clean' if verification.get('clean') else 'NOT clean'}: {dirs or 'no result'}"


@click.group("state")
def state_group() -> None:
    """Inspect or repair recorded state."""


@state_group.command("unlock")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--force", "lock_id", metavar="LOCK_ID",
              help="Break only the lock with this id (the refusal names it); with PostgreSQL state this also ends the "
                   "holder's database session.")
def unlock_cmd(stack: Path, lock_id: str | None) -> None:
    """Remove the state lock of STACK left by a process that is gone."""
    from mgc_iac.planning import check

    checked = check(stack)
    spec = checked.loaded.canonical
    store = _store_for(_stack_dir_of(stack), spec)
    try:
        held = store.force_unlock(checked.loaded.stack.metadata.name, lock_id)
    finally:
        store.close()
    click.echo(f"removed the lock of pid {held.pid} on {held.host} ({held.operation})" if held else "no lock was held")


@state_group.command("journal")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--limit", type=int, default=50, show_default=True)
def journal_cmd(stack: Path, limit: int) -> None:
    """The last entries of STACK's write-ahead journal (before/after records of each step)."""
    from mgc_iac.planning import check

    checked = check(stack)
    store = _store_for(_stack_dir_of(stack), checked.loaded.canonical)
    try:
        entries = store.journal(checked.loaded.stack.metadata.name, limit)
    finally:
        store.close()
    for e in entries:
        click.echo(f"{e.seq:>6} {e.at} {e.phase:<11} {e.address} {json.dumps(e.detail, sort_keys=True)}")


def _stack_and_store(stack: Path):  # -> (stack name, spec, store)
    from mgc_iac.planning import check

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
    Full Retry (after a source reboot, the agent is gone): the agent daemon is stopped, the migration task is
    deleted, and the server starts again from StartUpAgent (agent, new task, full replication; the migrated
    data is overwritten).
    """
    from mgc_iac.engine.rewind import full_retry, full_retry_target, retry

    name, spec, store = _stack_and_store(stack)
    try:
        with store.lock(name, "retry"):
            if not full:
                moved = retry(store, name, server)
            else:
                from mgc_iac.agent.daemon_ctl import agent_run_dir, stop_daemon
                from mgc_iac.connect import cloud_config
                from providers.migration_task import delete_task

                task = full_retry_target(store, name, server)
                cloud = cloud_config(spec, _stack_dir_of(stack))
                workflow, _, host = server.partition("/")
                stop_daemon(agent_run_dir(cloud, name, workflow, host))
                if task is not None and task.outputs.get("id") and not task.outputs.get("cleared"):
                    delete_task(cloud, str(task.outputs["id"]))
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
