"""The engine: runs a Plan's steps per server in template order, with bounded concurrency, the account-wide
migration cap, manual gates and a write-ahead journal.

Every step is journaled before and after it runs, each in its own committed transaction:

    before : step RUNNING (attempt n)        -> the cloud work (StepRunner, in a worker thread)
    after  : step DONE + its resource records, or FAILED with the error, or WAITING at a gate

A process killed between the two leaves the step RUNNING; the next plan maps it to `run`, and the runner
does it again idempotently (creates carry idempotency tokens and look up what exists first). Ctrl-C
cancels cleanly: running steps are marked interrupted in the journal and stay RUNNING, nothing else moves.
Nothing here prints: progress leaves through Hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from mgc_iac.approvals import (
    Approval,
    ApprovalsFile,
    Environment,
    Refusal,
    Trust,
    author_unknown_note,
    check_requirements,
    combine,
    gate_approvers,
)
from mgc_iac.engine.capacity import SlotQueue, needs_slot
from mgc_iac.engine.gate_evidence import evidence, evidence_of
from mgc_iac.engine.gate_trust import check_passed_gates, settle_policy
from mgc_iac.engine.hooks import Hooks
from mgc_iac.engine.notify import render
from mgc_iac.engine.records import apply_moves, forget_removed_steps
from mgc_iac.engine.result import ApplyResult, Waiting
from mgc_iac.engine.schedule import Waves, blocked_reason, window_allows, window_message, window_of
from mgc_iac.engine.slots import StepSlot
from mgc_iac.engine.steps import StepContext, StepOutcome, StepRunner
from mgc_iac.engine.watchdog import DEFAULT_STALL_SECONDS, StepWatch
from mgc_iac.errors import MgcIacError, StalePlanError
from mgc_iac.plan import Action, Plan, ResourceChange, ServerChange, StepAction
from mgc_iac.stack import ApprovalPolicy, Limits, utc_now
from mgc_iac.state import SourceRecord, StateStore, StepRecord, StepStatus, now

_T = TypeVar("_T")


@dataclass
class EngineOptions:
    parallelism: int = 10                       # steps running at once in this apply
    max_concurrent_migrations: int | None = None  # default: the spec's limits (1,000)
    expected_serial: int | None = None          # refuse as stale when the state serial differs (plan files)
    # the digest of a fresh plan of the same spec once this apply stopped: the plan in which the gates wait,
    # which is what approvals bind to (the CLI passes a re-plan of the stack)
    replan_digest: Callable[[], str] | None = None
    # time.monotonic() by which the apply returns while cloud work goes on (`apply --max-wait`): exit code 4
    deadline: float | None = None
    slot_poll_seconds: float = 0.5                # how often servers queued behind the cap look for a slot
    clock: Callable[[], datetime] = utc_now       # aware "now" for cutover windows (tests fix it)
    window_poll_seconds: float = 30.0             # how often a step waiting for its window looks at the clock


@dataclass
class _Server:
    change: ServerChange
    state: str = "pending"          # pending | queued | running | complete | waiting | failed
    records: dict[str, Any] = field(default_factory=dict)


class Engine:
    def __init__(self, plan: Plan, digest: str, store: StateStore, runner: StepRunner, *,
                 hooks: Hooks | None = None, approvals_file: ApprovalsFile | None = None,
                 options: EngineOptions | None = None, trust: Trust | None = None) -> None:
        """`trust` checks approvals' signatures for this environment (the CLI builds it from the stack dir);
        without it, signed approvals cannot be verified and unsigned ones count only where the policy allows."""
        self.plan = plan
        self.digest = digest
        self.store = store
        self.runner = runner
        self.hooks = hooks or Hooks()
        self.approvals_file = approvals_file
        self.options = options or EngineOptions()
        spec = plan.spec or {}
        # the policy in force (trusted side: approvals/policy.py), not the spec's own when a Trust says so
        self.policy = (trust.policy if trust is not None and trust.policy is not None
                       else ApprovalPolicy.model_validate(spec.get("approvals") or {}))
        self.limits = Limits.model_validate(spec.get("limits") or {})
        self.result = ApplyResult(plan.stack, digest)
        self.trust = trust
        self._approvals: list[Approval] = []
        self._rejected: dict[str, list[Refusal]] = defaultdict(list)
        self._authors: set[str] = set()
        self._waiting_at_start: set[str] = set()
        self._approvals_by_gate: dict[str, list[Approval]] | None = None
        self._changes: dict[tuple[str, str | None], dict[str, ResourceChange]] = defaultdict(dict)
        for c in plan.resource_changes:
            self._changes[(c.workflow, c.server)][c.kind] = c
        self._steps: dict[str, StepRecord] = {}
        self._cancels: list[Any] = []
        self._check_results: dict[str, list[dict[str, Any]]] = {}  # gate -> its automated checks, this apply

    # ---- entry points ----------------------------------------------------------------------------------

    def run(self) -> ApplyResult:
        """Run to completion, a gate or a failure; Ctrl-C ends it cleanly (result.interrupted)."""
        try:
            return asyncio.run(self.run_async())
        except KeyboardInterrupt:
            self.result.interrupted = True
            return self.result

    async def run_async(self) -> ApplyResult:
        stack = self.plan.stack
        with self.store.lock(stack, "apply"):
            serial = self.store.serial(stack)
            expected = self.options.expected_serial
            if expected is not None and serial != expected:
                raise StalePlanError(
                    f"the plan was made against state serial {expected} but the state of `{stack}` is now at "
                    f"{serial}: something was applied since; make a new plan (`mgc-iac plan`) and review it")
            self._prepare()
            # the runner's calls run in the engine's own pool (asyncio.to_thread's default pool has min(32, CPUs + 4)
            # threads: 6 on a 2-core machine): `parallelism` steps at work, plus every server's step that only waits
            # on the cloud (it lends its slot back meanwhile, engine/slots.py)
            workers = max(1, self.options.parallelism) + len(self.plan.server_changes)
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mgc-iac-step")
            stop_relay = self._relay_pressure()
            try:
                try:
                    async with asyncio.timeout_at(self.options.deadline):  # loop time is time.monotonic()
                        await self._apply_stepless()
                        forget_removed_steps(self.store, self.plan, self._snapshot)
                        await self._run_servers()
                except TimeoutError:
                    # the running steps were told to stop waiting and stay RUNNING; the cloud goes on, and the
                    # next apply picks each one up where the cloud has it
                    self.result.in_progress = True
                self.result.pushback = _pushback()
                if self.result.waiting and self.options.replan_digest is not None:
                    self.result.approve_digest = self.options.replan_digest()
                self._notify()
            except asyncio.CancelledError:
                self.result.interrupted = True
                for event in self._cancels:
                    event.set()
            except BaseException:
                for event in self._cancels:  # e.g. the state store is gone: running steps stop waiting too
                    event.set()
                raise
            finally:
                stop_relay()
                self._pool.shutdown(wait=True)  # interrupted steps see their cancel event and end
        return self.result

    def _relay_pressure(self) -> Callable[[], None]:
        """Endpoints pushing back (429, 5xx, no answer: mgc_iac/cloud/_throttle.py) go to the hooks, on the loop,
        at most once a second per endpoint and at once when it answers again."""
        from mgc_iac.cloud import observe

        loop = asyncio.get_running_loop()
        last: dict[str, float] = {}

        def relay(pressure: Any, key: str) -> None:
            now = time.monotonic()
            if pressure is not None and now - last.get(key, float("-inf")) < 1.0:
                return
            last[key] = now if pressure is not None else float("-inf")
            text = pressure.text(now) if pressure is not None else None
            with contextlib.suppress(RuntimeError):  # the loop is closing: nobody looks any more
                loop.call_soon_threadsafe(self.hooks.api_pressure, key, text)

        return observe(relay)

    def _stall_timeout(self, workflow: str) -> float:
        wf = next((w for w in (self.plan.spec or {}).get("workflows", []) if w.get("name") == workflow), {})
        return float((wf.get("advanced") or {}).get("stall_timeout") or DEFAULT_STALL_SECONDS)

    def _run_step(self, ctx: StepContext) -> StepOutcome:
        """In a worker thread: the runner's step inside its CallScope (cancel, watchdog, lent slot)."""
        from mgc_iac.cloud import CallScope, call_scope

        watch: StepWatch = ctx.watch
        scope = CallScope(who=ctx.gate, cancel=ctx.cancel, deadline=watch.deadline, expired=watch.expired,
                          idle=ctx.idle, progress=watch.saw)
        with call_scope(scope):
            return self.runner.run_step(ctx)

    async def _in_thread(self, fn: Callable[..., _T], /, *args: Any) -> _T:
        """`fn(*args)` in one of the engine's worker threads, with this context (as asyncio.to_thread)."""
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    # ---- preparation -----------------------------------------------------------------------------------

    def _prepare(self) -> None:
        stack = self.plan.stack
        sources = [SourceRecord(stack, s["name"], s["mac"]) for s in (self.plan.spec or {}).get("sources", [])]
        with self.store.transaction(stack) as txn:
            txn.register_workflows(list(self.plan.workflow_order))
            txn.set_sources(sources)
        apply_moves(self.store, self.plan)
        snapshot = self.store.snapshot(stack)
        self._snapshot = snapshot
        self._steps = dict(snapshot.steps)
        trust = self.trust or Trust(stack, Environment(self.store.environment_id(), "unverified"), None,
                                    self.policy.signatures_required((self.plan.spec.get("cloud") or {})
                                                                    .get("provider", "lab")))
        counted, rejected = trust.check(combine(self.approvals_file, self.store.approvals(stack)) + evidence(snapshot))
        self._approvals = counted
        self._rejected = defaultdict(list)
        for refusal in rejected:
            self._rejected[refusal.gate].append(refusal)
        self._authors = trust.authors(self.store.plan_signatures(stack, self.plan.spec_digest), self.plan.spec_digest)
        if not self.policy.allow_plan_author and not self._authors and self.plan.gates():
            self.hooks.message(author_unknown_note())
        # a gate is passed only by a verified approval, every time; then what this apply runs with is recorded
        check_passed_gates(self.plan, snapshot, counted, self.policy)
        policy_wait = settle_policy(self.store, self.plan, self.digest, counted, self.policy, self._authors, rejected)
        if policy_wait is not None:
            self.result.waiting.append(policy_wait)
        # an approval counts only for a gate that waited in the state this plan was made against
        self._waiting_at_start = {g for g, r in snapshot.steps.items() if r.status is StepStatus.WAITING}
        self._approvals_by_gate = None
        resumed = [g for g, r in snapshot.steps.items() if r.status is StepStatus.RUNNING]
        for gate in resumed:
            self.hooks.message(f"{gate} was interrupted (RUNNING in the journal): running it again")

    # ---- resources outside steps -----------------------------------------------------------------------

    def _stepless(self, change: ResourceChange) -> bool:
        """Changes applied outside the steps: notifications, servers removed from the spec (delete or forget),
        and in-place updates of resources whose owning step is already done."""
        record = self._snapshot.resources.get(change.address)
        if change.server is None:
            return not (change.action is Action.NOOP and record is not None)
        if change.action in (Action.DELETE, Action.FORGET):
            return True
        if change.action is not Action.UPDATE:
            return False
        server = next((s for s in self.plan.server_changes
                       if s.workflow == change.workflow and s.server == change.server), None)
        owner = "CreateTarget" if change.kind == "target_server" else "StartUpAgent"
        step = next((s for s in server.steps if s.step == owner), None) if server else None
        return step is None or step.action is not StepAction.RUN

    async def _apply_stepless(self) -> None:
        stack = self.plan.stack
        for change in self.plan.resource_changes:
            if not self._stepless(change):
                continue
            record = self._snapshot.resources.get(change.address)
            with self.store.transaction(stack) as txn:
                txn.journal(change.address, "before", {"action": change.action.value})
            try:
                new = await self._in_thread(self.runner.apply_resource, stack, change, record, self.plan.spec)
            except MgcIacError as exc:
                with self.store.transaction(stack) as txn:
                    txn.journal(change.address, "failed", {"error": str(exc)})
                self.result.failed[change.address] = str(exc)
                continue
            with self.store.transaction(stack) as txn:
                if new is None:
                    txn.delete_resource(change.address)
                else:
                    txn.put_resource(new)
                txn.journal(change.address, "after", {"action": change.action.value})
            self.hooks.resource_changed(change.address, change.action.value)

    # ---- servers -----------------------------------------------------------------------------------------

    async def _run_servers(self) -> None:
        self._sem = asyncio.Semaphore(max(1, self.options.parallelism))
        stack = self.plan.stack
        order = self._snapshot.workflow_order
        servers = [_Server(s) for s in self.plan.server_changes]
        records: dict[tuple[str, str | None], dict[str, Any]] = defaultdict(dict)
        for r in self._snapshot.resources.values():
            records[(r.workflow, r.server)][r.kind] = r
        for s in servers:
            s.records = dict(records.get((s.change.workflow, s.change.server), {}))
        cap = self.options.max_concurrent_migrations or self.limits.max_concurrent_migrations
        # a wave's servers start only once the workflows it depends on are cut over (schedule.py)
        waves = Waves(self.plan)
        blocked = [s for s in servers if waves.blocks(s.change, self._steps)]
        # the slots are counted in the backend, across every stack and every process using it (capacity.py)
        slots = SlotQueue(self.store, stack, cap, [s for s in servers if s not in blocked], order,
                          self.store.slots(stack))
        tasks: dict[asyncio.Task[str], _Server] = {}

        def launch(server: _Server) -> None:
            tasks[asyncio.create_task(self._run_server(server))] = server

        def claim() -> bool:
            claimed = slots.claim()
            for server in claimed.granted:
                launch(server)
            for server, position in claimed.queued:
                if server.state == "queued":  # recorded once per apply: moving up the queue is not a state change
                    self.result.queued[server.change.address] = position
                else:
                    self._mark_queued(server, position)
            return claimed.others_running

        for s in slots.holding:
            launch(s)
        others_running = claim()
        poll = self.options.slot_poll_seconds
        try:
            while tasks or slots.pending:
                if not tasks:
                    if not others_running and self.options.deadline is None:
                        break  # no apply anywhere can free a slot now: the rest stay QUEUED (exit 3)
                    # with --max-wait, wait for a slot until the deadline (a dead apply's stack may be re-run)
                    await asyncio.sleep(poll)
                    others_running = claim()
                    continue
                finished, _ = await asyncio.wait(tasks, timeout=poll if slots.pending or blocked else None,
                                                 return_when=asyncio.FIRST_COMPLETED)
                freed = False
                for task in finished:
                    server = tasks.pop(task)
                    server.state = task.result()
                    freed = freed or (server.state == "complete" and needs_slot(server.change))
                released = [s for s in blocked if not waves.blocks(s.change, self._steps)]
                for server in released:  # their dependencies finished Cutover in this apply: they start now
                    blocked.remove(server)
                    slots.add(server)
                if slots.pending and (freed or not finished or released):
                    others_running = claim()
        except BaseException:  # Ctrl-C, or a server's task failed outside its step (the state store is gone)
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):  # each one's end is retrieved: nothing is left behind
                await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            self.store.leave_queue(stack)
        for server in blocked:
            self._mark_blocked(server, waves)
        self._servers = servers

    def _mark_blocked(self, server: _Server, waves: Waves) -> None:
        """A server whose wave did not start: nothing is recorded (no step ran), the result says why."""
        reason = blocked_reason(server.change.workflow, waves.blocks(server.change, self._steps))
        server.state = "blocked"
        if server.change.workflow not in {a.split("/", 1)[0] for a in self.result.blocked}:
            self.hooks.message(reason)
        self.result.blocked[server.change.address] = reason

    def _mark_queued(self, server: _Server, position: int) -> None:
        first = next(s for s in server.change.steps if s.action is not StepAction.SKIP)
        gate = f"{server.change.address}/{first.step}"
        detail = {"queue_position": position,
                  "reason": "the account-wide cap of concurrent migrations is reached"}
        prev = self._steps.get(gate)
        if prev is None or prev.status is not StepStatus.QUEUED or prev.detail != detail:
            self._put_step(gate, server.change, first.step, StepStatus.QUEUED, detail, phase="queued")
        server.state = "queued"
        self.result.queued[server.change.address] = position
        self.hooks.step_finished(gate, StepStatus.QUEUED.value, detail)

    async def _run_server(self, server: _Server) -> str:
        change = server.change
        self.result.queued.pop(change.address, None)
        for step in change.steps:
            gate = f"{change.address}/{step.step}"
            if step.action is StepAction.DONE:
                continue
            if step.action is StepAction.SKIP:
                prev = self._steps.get(gate)
                if prev is None or prev.status is not StepStatus.SKIPPED:
                    self._put_step(gate, change, step.step, StepStatus.SKIPPED, {"reason": step.reason},
                                   phase="skipped")
                continue
            extra: dict[str, Any] = {}
            prev = self._steps.get(gate)
            if step.manual and step.action is StepAction.RUN and prev is not None:
                # resumed after a crash (see planner; verified again in _prepare): keep who approved it
                extra = {k: prev.detail[k] for k in ("approved_by", "signed_by", "plan_digest", "approvals")
                         if k in prev.detail}
            if step.action is StepAction.WAIT:
                checks = await self._gate_checks(server, step.step)
                refusals = check_requirements(self.plan, self.digest, self._gate_approvals(gate), self.policy,
                                              self._authors, gates=[gate], waiting=self._waiting_at_start,
                                              rejected=self._rejected.get(gate, ()))
                overridden = self._checks_block(gate, checks, refusals)
                if refusals:
                    # written once: rewriting it would move the state serial, hence the plan digest the
                    # approvals bind to (a partial approval would then be discarded by the next apply); new
                    # check verdicts are news for the approver, so they are written
                    detail = {"needs": self._needs(gate, with_approvers=False),
                              **({"checks": checks} if checks is not None else {})}
                    prev = self._steps.get(gate)
                    if prev is None or prev.status is not StepStatus.WAITING or prev.detail.get("checks") != checks:
                        self._put_step(gate, change, step.step, StepStatus.WAITING, detail, phase="waiting")
                    early = ("; approvals given before it waited do not count: approve it now that it waits"
                             if refusals[0].code == "not-waiting-yet" and self._gate_approvals(gate) else "")
                    notes = "".join(f"; {r.reason}" for r in self._rejected.get(gate, ()))
                    seen = self._check_results.get(gate)
                    self.result.waiting.append(Waiting(gate, self._needs(gate) + early + notes
                                                       + _checks_note(refusals, seen)))
                    self.hooks.step_finished(gate, StepStatus.WAITING.value, {**detail, **({"checks": seen}
                                                                                           if seen else {})})
                    return "waiting"
                approvers = gate_approvers(gate, self.digest, self._gate_approvals(gate), self.policy, self._authors)
                # who of them signed (verified SSH signature), so the report can say signed or unsigned
                signed = sorted({a.approver for a in self._gate_approvals(gate)
                                 if a.signature and a.plan_digest == self.digest and a.approver in approvers})
                extra = {"approved_by": approvers, "signed_by": signed, "plan_digest": self.digest,
                         # the signed approvals themselves: what a later apply verifies this pass from
                         "approvals": evidence_of(a for a in self._gate_approvals(gate)
                                                  if a.plan_digest == self.digest),
                         **({"checks": self._check_results.get(gate, checks)} if checks is not None else {}),
                         **({"checks_overridden_by": overridden} if overridden else {})}
            if not await self._execute(server, step.step, extra):
                return "failed"
        return "complete"

    def _gate_approvals(self, gate: str) -> list[Approval]:
        """The approvals naming `gate` (indexed once: every approval list scan per gate is O(gates^2))."""
        if self._approvals_by_gate is None:
            self._approvals_by_gate = defaultdict(list)
            for approval in self._approvals:
                self._approvals_by_gate[approval.gate].append(approval)
        return self._approvals_by_gate.get(gate, [])

    async def _gate_checks(self, server: _Server, step: str) -> list[dict[str, Any]] | None:
        """The gate's automated check results to record (validation.checks), None when it has none. Checks that
        passed when the gate began waiting are kept; failed ones run again, and their new results replace the
        record only when a verdict changed (so an override approval of the same failure stays bound to its
        digest); this apply's messages show the new results either way (_check_results)."""
        from mgc_iac.engine.schedule import checks_of, failed_checks, verdicts
        from mgc_iac.graph import CHECKED_GATES

        run = getattr(self.runner, "run_checks", None)
        checks = checks_of(self.plan.spec or {}, server.change.workflow)
        if step not in {g.value for g in CHECKED_GATES} or not checks or run is None:
            return None
        gate = f"{server.change.address}/{step}"
        prev = self._steps.get(gate)
        recorded = prev.detail.get("checks") if prev is not None and prev.status is StepStatus.WAITING else None
        if recorded is not None and not failed_checks(recorded):
            return list(recorded)
        ctx = StepContext(stack=self.plan.stack, step=step, server=server.change, spec=self.plan.spec,
                          changes=dict(self._changes.get((server.change.workflow, server.change.server), {})),
                          records=dict(server.records), attempt=0)
        self.hooks.message(f"{gate}: running {len(checks)} automated check(s)")
        try:
            fresh: list[dict[str, Any]] = await self._in_thread(run, ctx, checks)
        except Exception as exc:  # noqa: BLE001 - checks that cannot run fail this gate's checks, not the apply
            from mgc_iac.engine.schedule import not_run

            fresh = not_run(checks, str(exc) if isinstance(exc, MgcIacError) else
                            f"internal error: {type(exc).__name__}: {exc}")
        self._check_results[gate] = fresh  # what this apply saw: its messages show the current failure
        if recorded is not None and verdicts(fresh) == verdicts(recorded):
            return list(recorded)
        return fresh

    def _checks_block(self, gate: str, checks: list[dict[str, Any]] | None, refusals: list[Refusal]) -> list[str]:
        """Who passed the gate over failed checks; when nobody did, a refusal is added (a failed check blocks)."""
        from mgc_iac.approvals import check_overriders
        from mgc_iac.engine.schedule import failed_checks

        if checks is not None:
            self._check_results.setdefault(gate, checks)
        failed = failed_checks(checks)
        if not failed or refusals:
            return []
        overriders = check_overriders(gate, self.digest, self._gate_approvals(gate), self.policy, self._authors)
        if not overriders:
            names = ", ".join(r["name"] for r in failed)
            refusals.append(Refusal(gate, "checks-failed", f"automated check(s) failed: {names}; fix the cause and "
                                    "apply again (failed checks run again), or approve with --override-checks"))
        return overriders

    @contextlib.asynccontextmanager
    async def _worker(self, server: _Server, step: str) -> AsyncIterator[StepSlot]:
        """One of `parallelism` workers for `step` (a StepSlot: lent back while the step only waits on the cloud,
        engine/slots.py). A windowed step (Cutover, SourceClear) waits for its window without holding one, and is
        checked again once it holds one: it never starts after the window closed. A step found RUNNING (it began
        inside its window before a crash) is finished whenever."""
        prev = self._steps.get(f"{server.change.address}/{step}")
        resumed = prev is not None and prev.status is StepStatus.RUNNING
        window = window_of(self.plan, server.change.workflow)
        slot = StepSlot(self._sem, asyncio.get_running_loop(), threading.Event())
        while True:
            if not resumed:
                await self._window_open(server, step)
            await slot.take()
            if resumed or window_allows(window, step, self.options.clock()).open:
                break
            slot.give_back()
        try:
            yield slot
        finally:
            slot.close()

    async def _window_open(self, server: _Server, step: str) -> bool:
        """Wait until the workflow's cutover window is open for `step` (Cutover, SourceClear); True once it is.
        The wait is like any cloud wait: `apply --max-wait` returns from it with exit code 4."""
        window = window_of(self.plan, server.change.workflow)
        answer = window_allows(window, step, self.options.clock())
        if answer.open:
            return True
        gate = f"{server.change.address}/{step}"
        message = window_message(step, server.change.address, answer)
        self.result.scheduled[gate] = message
        self.hooks.message(message)
        while not answer.open:
            remaining = (answer.next_opening - self.options.clock()).total_seconds() if answer.next_opening else 0
            await asyncio.sleep(max(0.0, min(self.options.window_poll_seconds, remaining)))
            answer = window_allows(window, step, self.options.clock())
        self.result.scheduled.pop(gate, None)
        return True

    def _needs(self, gate: str, with_approvers: bool = True) -> str:
        """What a gate waits for, in words that stay true across re-plans (no digest inside)."""
        need = self.policy.required_approvers
        authors = ", ".join(sorted(self._authors)) or "(unknown: the plan is not signed)"
        text = f"{need} approval(s)" + ("" if self.policy.allow_plan_author else
                                       f" by someone other than the plan's author {authors}")
        if self.trust is not None and self.trust.require_signatures:
            text += ", signed"
        if not with_approvers:
            return text
        have = gate_approvers(gate, self.digest, self._gate_approvals(gate), self.policy, self._authors)
        return text + (f"; has {', '.join(have)}" if have else "")

    async def _execute(self, server: _Server, step: str, extra: dict[str, Any]) -> bool:
        change = server.change
        gate = f"{change.address}/{step}"
        stack = self.plan.stack
        async with self._worker(server, step) as slot:
            prev = self._steps.get(gate)
            attempt = (prev.attempt if prev else 0) + 1
            resumed = prev is not None and prev.status is StepStatus.RUNNING
            if step == "CreateTarget":
                kept = prev.detail.get("incarnation") if prev is not None and prev.status is not StepStatus.DONE \
                    else None
                extra = {**extra, "incarnation": kept or uuid.uuid4().hex[:16]}
            self._put_step(gate, change, step, StepStatus.RUNNING,
                           {"started_at": now(), **({"resumed": True} if resumed else {}), **extra},
                           phase="before", attempt=attempt)
            self.hooks.step_started(gate, attempt)
            ctx = StepContext(stack=stack, step=step, server=change, spec=self.plan.spec,
                              changes=dict(self._changes.get((change.workflow, change.server), {})),
                              records=dict(server.records), attempt=attempt, cancel=slot.cancel,
                              incarnation=str(extra.get("incarnation", "")),
                              progress=self._progress_to_hooks(gate) if self._wants_progress else None,
                              previous=dict(prev.detail) if prev is not None else {}, idle=slot.lent,
                              watch=StepWatch(self._stall_timeout(change.workflow), f"{step} started"))
            self._cancels.append(ctx.cancel)
            try:
                outcome: StepOutcome = await self._in_thread(self._run_step, ctx)
            except asyncio.CancelledError:
                ctx.cancel.set()
                with self.store.transaction(stack) as txn:
                    txn.journal(gate, "interrupted", {"attempt": attempt})
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of one server's step fails that step only
                message = str(exc) if isinstance(exc, MgcIacError) else f"internal error: {type(exc).__name__}: {exc}"
                # an error may carry what the step found (prechecks, verification counts) for the record
                detail = {"error": message, **(getattr(exc, "step_detail", None) or {}), **extra}
                self._put_step(gate, change, step, StepStatus.FAILED, detail, phase="failed", attempt=attempt)
                self.result.failed[gate] = message
                self.hooks.step_finished(gate, StepStatus.FAILED.value, detail)
                return False
            finally:
                self._cancels.remove(ctx.cancel)
            detail = {**outcome.detail, **extra, **({"resumed": True} if resumed else {}), "finished_at": now()}
            record = StepRecord(change.workflow, change.server, step, StepStatus.DONE, attempt, detail)
            with self.store.transaction(stack) as txn:
                for res in outcome.records:
                    txn.put_resource(res)
                    server.records[res.kind] = res
                for address in outcome.deleted:
                    txn.delete_resource(address)
                txn.put_step(record)
                txn.journal(gate, "after", {"attempt": attempt, "status": "done"})
            self._steps[gate] = record
            self.result.done.append(gate)
            self.hooks.step_finished(gate, StepStatus.DONE.value, detail)
            return True

    @property
    def _wants_progress(self) -> bool:
        """Only hooks that show progress get it: each figure costs the step a ShowServer call per poll."""
        return type(self.hooks).step_progress is not Hooks.step_progress

    def _progress_to_hooks(self, gate: str) -> Callable[[dict[str, Any]], None]:
        """A callback for the worker thread that hands a step's progress to the hooks on the event loop."""
        loop = asyncio.get_running_loop()

        def report(progress: dict[str, Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closing (Ctrl-C): the figure is moot
                loop.call_soon_threadsafe(self.hooks.step_progress, gate, progress)

        return report

    def _put_step(self, gate: str, change: ServerChange, step: str, status: StepStatus, detail: dict[str, Any],
                  *, phase: str, attempt: int | None = None) -> None:
        prev = self._steps.get(gate)
        record = StepRecord(change.workflow, change.server, step, status,
                            attempt if attempt is not None else (prev.attempt if prev else 0), detail)
        with self.store.transaction(self.plan.stack) as txn:
            txn.put_step(record)
            txn.journal(gate, phase, {"status": status.value, **({"attempt": attempt} if attempt else {})})
        self._steps[gate] = record

    # ---- notifications -----------------------------------------------------------------------------------

    def _notify(self) -> None:
        servers: list[_Server] = getattr(self, "_servers", [])
        for workflow in self.plan.workflow_order:
            mine = [s for s in servers if s.change.workflow == workflow]
            if not mine:
                continue
            touched = any(g.startswith(f"{workflow}/") for g in self.result.done)
            failed = {g: e for g, e in self.result.failed.items() if g.startswith(f"{workflow}/")}
            waiting = [w for w in self.result.waiting if w.gate.startswith(f"{workflow}/")]
            event, lines = None, []
            if failed:
                event, lines = "failed", [f"- {g}: {e}" for g, e in failed.items()]
            elif all(s.state == "complete" for s in mine) and touched:
                event = "succeeded"
            elif all(s.state == "waiting" for s in mine) and _newly_waiting(waiting, self._snapshot.steps):
                event, lines = "manual_checkpoint", [f"- {w.gate}" + self._checks_line(w.gate) for w in waiting]
            if event is None:
                continue
            self._send(workflow, event, len(mine), lines, self._event_key(workflow, event, mine))

    def _checks_line(self, gate: str) -> str:
        """The gate's automated checks for a notification, so the approver sees the evidence."""
        from mgc_iac.engine.schedule import checks_summary

        results = self._check_results.get(gate)
        return f" (automated checks: {checks_summary(results)})" if results else ""

    def _event_key(self, workflow: str, event: str, servers: list[_Server]) -> str:
        """The notification's idempotency key: the event and the step records it reports on, so the same
        event reached again after a crash (or a re-run that changes nothing) is not sent twice."""
        import hashlib

        records = sorted((g, r.status.value, r.attempt) for g, r in self._steps.items()
                         if any(g.startswith(f"{s.change.address}/") for s in servers))
        body = json.dumps([self.plan.stack, workflow, event, records], separators=(",", ":"))
        return f"{workflow}/{event}/" + hashlib.sha256(body.encode()).hexdigest()[:32]

    def _send(self, workflow: str, event: str, count: int, lines: list[str], key: str) -> None:
        wf = next((w for w in (self.plan.spec or {}).get("workflows", []) if w.get("name") == workflow), {})
        note = (wf.get("advanced") or {}).get("notifications")
        if not note or event not in (note.get("on") or ()):
            return
        # journaled BEFORE the send (at most once): a crash after the send never sends it again
        with self.store.transaction(self.plan.stack) as txn:
            if not txn.claim_notification(key, {"workflow": workflow, "event": event}):
                return
        subject, text = render(note.get("language", "en-us"), event, stack=self.plan.stack, workflow=workflow,
                               servers=count, lines=lines, digest=self.result.approve_digest or self.digest)
        try:
            sent = self.runner.notify(self.plan.spec, workflow, subject, text)
        except MgcIacError as exc:
            # refused or unreachable: the next apply tries again (only a crash mid-send leaves the claim)
            with self.store.transaction(self.plan.stack) as txn:
                txn.release_notification(key)
            self.hooks.message(f"notification {event} for {workflow} could not be sent: {exc}")
            return
        if sent:  # the claim above does not move the serial (the digest to approve stays)
            self.hooks.notified(workflow, event)


def _pushback() -> list[str]:
    """Endpoints pushing back now, in words naming them (for the summary when an apply ends)."""
    from mgc_iac.cloud import limiters
    from mgc_iac.engine.watchdog import span

    out = []
    for limiter in limiters():
        pressure = limiter.pressure()
        if pressure is not None:
            what = pressure.text().split(";", 1)[0].split(" ", 1)[1]
            out.append(f"{limiter.service.upper()} at {limiter.endpoint}: {what} for "
                       f"{span(time.monotonic() - pressure.since)}")
    return out


def _checks_note(refusals: list[Refusal], checks: list[dict[str, Any]] | None) -> str:
    from mgc_iac.engine.schedule import checks_summary

    if not checks:
        return ""
    blocked = any(r.code == "checks-failed" for r in refusals)
    return f"; checks: {checks_summary(checks)}" + ("; a failed check blocks the gate: fix the cause and apply "
                                                    "again, or approve with --override-checks" if blocked and
                                                    len(refusals) == 1 else "")


def _newly_waiting(waiting: Iterable[Waiting], before: dict[str, StepRecord]) -> bool:
    return any(before.get(w.gate) is None or before[w.gate].status is not StepStatus.WAITING for w in waiting)

