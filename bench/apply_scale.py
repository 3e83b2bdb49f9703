"""Apply at scale: N servers (workflows of 100) through the whole lifecycle against the lab, gates approved up
front, the account-wide concurrency cap with its FIFO queue, and (issue 20) the SMS calls it costs under Huawei's
limits.

    .venv/bin/python bench/apply_scale.py                            # quick: 200 servers, cap 150
    .venv/bin/python bench/apply_scale.py --servers 1000 --rate-limit 50   # the target run: without, then with
                                                                     # the lab's gateway limit; the ratio
    .venv/bin/python bench/apply_scale.py --steady 200               # SMS calls per task per minute, copies running
    .venv/bin/python bench/apply_scale.py --full                     # 1,000 (cap 1,000), then 1,200 with cap 1,000

The lab runs as a background process (its CPU is not in this process) from a temporary state dir, seeded with
a /16 subnet, `job_seconds: 0` (ECS jobs finish at once) and `instant_transfers: true` (LAB ONLY: SMS
start/sync finish at once with a clean consistency result, no agent, no bytes moved), `transition_seconds: 0`
(LAB ONLY: stop, delete, cutover and clear finish their intermediate state at once), `sync_interval_seconds: 0`
(LAB ONLY: continuous synchronisation starts its next round at the next read), no faults or added latency, and
no gateway limit unless `--rate-limit N` (then N requests/s per service, the lab's 429 APIGW.0308). The stack is
generated as YAML in a temporary directory, with the product's defaults: `advanced.poll_interval` 10 s (first
read after 5 s, as Huawei's Terraform provider) unless `--poll-interval`.

What a user does, and what is measured: plan the stack, review it, record an approval of every gate of that
plan (BusinessValidation and Cutover of every server: `mgc-iac approve --gate ...`, or approvals.yaml with the
plan's digest) before applying it (the stack sets approvals.allow_advance: true, one approval per release; by
default an approval counts only for a gate that waits), then apply that plan once. Approvals do not move the
state serial, so the plan stays current, and the engine checks every gate against the digest of the plan it
applies: one apply runs every server from CreateTarget to MigrationTaskClear (exit 0).

Figures (printed, never asserted in tests):
  wall            Engine.run() from start to exit (plan and approvals are timed apart)
  cloud calls     what reached the lab per service (its own count, /_lab/stats), per server, and the 429s its
                  gateway limit answered; with --rate-limit, the same apply's wall time with and without the
                  limit and their ratio (target <= 1.5x, 0 failed steps)
  steady state    (--steady N) N copies running at once (lab: transfer_seconds keeps them RUNNING): the SMS calls
                  the lab answered during --window seconds, per task per minute (target <= 12 with defaults)
  engine/step     CPU time of the engine's event-loop thread during the apply, divided by steps: the engine's
                  own cost (scheduling, gates, state transactions, hooks), without the runner's cloud calls
                  (they run in worker threads) and without the lab (another process)
  idle-runner     wall time during which no runner call was in flight, divided by steps
  runner          summed time inside StepRunner.run_step (overlapping: every waiting server at once)
  peak RSS        this process (ru_maxrss) and the lab process (VmHWM)
  cap/FIFO        the first `cap` servers (workflow creation order) start at once, the rest wait QUEUED with
                  positions 1..k and start in that order as slots free; never more than `cap` hold a slot
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mgc_iac.engine import CloudSteps, Engine, EngineOptions, Hooks, StepContext, StepOutcome  # noqa: E402
from mgc_iac.operations._planning import plan_stack  # noqa: E402
from mgc_iac.plan.planfile import plan_digest  # noqa: E402
from mgc_iac.state import ApprovalRecord, open_store  # noqa: E402

SERVERS_PER_WORKFLOW = 100
TARGET_MS_PER_STEP = 5.0
TARGET_CALLS_PER_TASK_MIN = 12.0    # issue 20: SMS calls per task per minute in steady state, default settings
TARGET_LIMIT_RATIO = 1.5            # issue 20: 1,000 servers under a lab limit of 50 req/s, vs without the limit
FIRST_STEP = "CreateTarget"
LAST_STEP = "MigrationTaskClear"


# --- stack and lab seed (plain text) -----------------------------------------------------------------------


def write_seed(path: Path, rate_limit: float | None = None, transfer_seconds: float = 0.0,
               rate_per: str = "api") -> None:
    limit = f"{{requests_per_second: {rate_limit:g}, per: {rate_per}}}" if rate_limit else "null"
    path.write_text(
        "cloud:\n  region: cn-north-4\n  availability_zone: cn-north-4a\n"
        "  vpcs:\n    - name: vpc-main\n      cidr: 10.0.0.0/8\n"
        "      subnets: [{name: subnet-main, cidr: 10.16.0.0/16, gateway_ip: 10.16.0.1}]\n"
        "  security_groups:\n    - name: sg-main\n"
        "      rules: [{direction: ingress, protocol: tcp, ports: '22', remote_ip_prefix: 0.0.0.0/0, action: allow,"
        " priority: 1}]\n"
        "  kms_keys: [{alias: evs/default, spec: AES_256, state: enabled}]\n"
        "  smn_topics: [{name: migration-events, display_name: Migration events}]\n"
        "  flavors: [{id: s6.large.2, vcpus: 2, ram_mb: 4096}, {id: s6.xlarge.2, vcpus: 4, ram_mb: 8192}]\n"
        "  images:\n    - {id: lab-image-linux, name: Debian 12 64bit, os_type: Linux}\n"
        "    - {id: lab-image-windows, name: Windows Server 2019 64bit, os_type: Windows}\n"
        "  lab: {job_seconds: 0, instant_transfers: true, transition_seconds: 0, sync_interval_seconds: 0, "
        f"faults: [], transfer_seconds: {transfer_seconds:g}, rate_limit: {limit}}}\n", encoding="utf-8")


def write_stack(directory: Path, servers: int, cap: int, poll_interval: float | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "stack.yaml").write_text(
        "apiVersion: mgc-iac/v1\nkind: MigrationStack\n"
        f"metadata: {{name: apply-scale-{servers}, project: scale-migration}}\n"
        "cloud: {provider: lab, region: cn-north-4}\n"
        # one approval per release (--gates upfront): the reviewed plan's gates are approved before they wait
        "approvals: {required_approvers: 1, allow_plan_author: true, allow_advance: true}\n"
        f"limits: {{max_concurrent_migrations: {min(cap, 1000)}}}\n"  # the page's cap can only be lowered
        "state: {path: state.db}\n", encoding="utf-8")
    with (directory / "sources.yaml").open("w", encoding="utf-8") as out:
        out.write("sources:\n")
        for i in range(servers):
            ip = f"10.{16 + (i >> 16 & 15)}.{i >> 8 & 255}.{(i & 255) or 1}"
            used = 20 + i % 150
            out.write(f"  - name: srv-{i:05d}\n    ip: {ip}\n"
                      f"    mac: \"fa:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}\"\n"
                      f"    os: linux\n    os_version: debian-12\n    cpus: {2 << (i % 3)}\n"
                      f"    memory_mb: {4096 << (i % 3)}\n    disks:\n"
                      "      - {device: /dev/vda, size_gb: 40, used_gb: 12}\n"
                      f"      - {{device: /dev/vdb, size_gb: 200, used_gb: {used}}}\n"
                      f"    application: app-{i // SERVERS_PER_WORKFLOW:03d}\n")
    with (directory / "workflows.yaml").open("w", encoding="utf-8") as out:
        out.write("workflows:\n")
        for w in range((servers + SERVERS_PER_WORKFLOW - 1) // SERVERS_PER_WORKFLOW):
            members = range(w * SERVERS_PER_WORKFLOW, min(servers, (w + 1) * SERVERS_PER_WORKFLOW))
            overrides = "".join(f"      srv-{i:05d}: {{target_name: srv-{i:05d}-hw, flavor: s6.xlarge.2}}\n"
                                for i in members if i % 10 == 0)
            out.write(f"  - name: wave-{w:03d}\n    source: {{application: app-{w:03d}}}\n"
                      "    network: {type: public}\n"
                      "    target: {region: cn-north-4, project: cn-north-4, vpc: vpc-main, subnet: subnet-main, "
                      "security_group: sg-main, flavor: s6.large.2}\n"
                      "    migration_port: 22\n    encryption: {enabled: true, key_alias: evs/default}\n"
                      "    advanced:\n      verify_consistency: true\n      start_target_after_migration: true\n"
                      f"{'      bandwidth_limit_mbps: 1000' + chr(10) if w % 2 else ''}"
                      "      install_rsync: false\n      enterprise_project: default\n"
                      + (f"      poll_interval: {poll_interval:g}\n" if poll_interval else "")
                      + f"      tags: {{owner: platform, wave: 'w{w:03d}'}}\n"
                      "    verification_policy: {hash: false, include_paths: [/data], exclude_paths: [/data/tmp]}\n"
                      + (f"    servers:\n{overrides}" if overrides else ""))


# --- instrumentation -----------------------------------------------------------------------------------------


class TimedRunner:
    """Wraps the StepRunner: records the interval of every run_step call (in worker threads)."""

    def __init__(self, inner: CloudSteps, profile: bool = False) -> None:
        self.inner = inner
        self.intervals: list[tuple[float, float]] = []
        self.profiles: list[Any] = []   # one cProfile.Profile per worker thread (with --profile)
        self._profile = profile
        self._local = threading.local()
        self._lock = threading.Lock()

    def run_step(self, ctx: StepContext) -> StepOutcome:
        profiler = self._profiler() if self._profile else None
        start = time.perf_counter()
        try:
            if profiler is not None:
                return profiler.runcall(self.inner.run_step, ctx)
            return self.inner.run_step(ctx)
        finally:
            end = time.perf_counter()
            with self._lock:
                self.intervals.append((start, end))

    def _profiler(self) -> Any:
        profiler = getattr(self._local, "profiler", None)
        if profiler is None:
            import cProfile

            profiler = self._local.profiler = cProfile.Profile()
            with self._lock:
                self.profiles.append(profiler)
        return profiler

    def apply_resource(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.apply_resource(*args, **kwargs)

    def notify(self, *args: Any, **kwargs: Any) -> bool:
        return self.inner.notify(*args, **kwargs)

    def busy_seconds(self) -> float:
        """Length of the union of the call intervals."""
        total, end = 0.0, float("-inf")
        for s, e in sorted(self.intervals):
            if e <= end:
                continue
            total += e - max(s, end)
            end = e
        return total


@dataclass
class SlotHooks(Hooks):
    """Records when each server starts (its first step) and finishes (its last step), and queue positions."""

    started: dict[str, int] = field(default_factory=dict)      # workflow/server -> start sequence number
    queued: dict[str, int] = field(default_factory=dict)       # workflow/server -> queue position
    failed: dict[str, str] = field(default_factory=dict)
    steps_started: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def step_started(self, gate: str, attempt: int) -> None:
        self.steps_started += 1
        server, step = gate.rsplit("/", 1)
        if step == FIRST_STEP and server not in self.started:
            self.started[server] = len(self.started)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def step_finished(self, gate: str, status: str, detail: dict[str, Any]) -> None:
        server, step = gate.rsplit("/", 1)
        if status == "queued":
            self.queued[server] = int(detail["queue_position"])
        elif status == "failed":
            self.failed[gate] = str(detail.get("error"))
        elif step == LAST_STEP and status == "done":
            self.in_flight -= 1


def _contract_stats(endpoint: Any) -> dict[str, Any]:
    """The lab's own count and cost of checking its answers against the SDK models (GET /_lab/stats)."""
    from mgc_iac.cloud import CloudSettings, LabControl

    return LabControl(CloudSettings.for_lab(endpoint)).stats()


def _lab_figures(lab_dir: Path) -> tuple[float, float]:
    """(CPU seconds, peak RSS MiB) of the background lab process."""
    import json

    pid = json.loads((lab_dir / "lab.json").read_text())["pid"]
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmHWM"))
    return cpu, hwm / 1024


# --- one run -------------------------------------------------------------------------------------------------


def _approve(store: Any, stack: str, gates: list[str], digest: str) -> None:
    """What `mgc-iac approve --gate ...` records (approvals do not move the state serial)."""
    with store.transaction(stack) as txn:
        for gate in gates:
            txn.add_approval(ApprovalRecord(gate, "bench-approver", digest, "2026-01-01T00:00:00Z", "cli"))


def _calls(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per service: calls that reached the lab between two stats reads, and of those refused 429 by its limit."""
    out: dict[str, dict[str, int]] = {}
    for key in ("calls", "throttled"):
        for route, n in (after.get(key) or {}).items():
            service = route.split(".", 1)[0]
            delta = int(n) - int((before.get(key) or {}).get(route, 0))
            out.setdefault(service, {"calls": 0, "throttled": 0})[key] += delta
    return out


def run(servers: int, cap: int, parallelism: int, workdir: Path, gates_mode: str = "upfront",
        profile: Path | None = None, state: str | None = None, rate_limit: float | None = None,
        poll_interval: float | None = None, rate_per: str = "api") -> dict[str, Any]:
    from mgc_iac.cloud import limiters, reset_limiters
    from mgc_iac.lab import start_background, stop_background

    reset_limiters()  # each run starts with fresh client-side limiters (a new lab, a new process's worth)
    load_before = os.getloadavg()[0]  # other work on the machine (the figure at the end counts our own threads)
    lab_dir, stack_dir = workdir / "lab", workdir / "stack"
    write_stack(stack_dir, servers, cap, poll_interval)
    write_seed(stack_dir / "lab-seed.yaml", rate_limit, rate_per=rate_per)
    os.environ["MGC_IAC_LAB_DIR"] = str(lab_dir)
    endpoint = start_background(lab_dir, seed=stack_dir / "lab-seed.yaml")
    store = open_store(state or stack_dir / "state.db")  # a postgresql:// URL for bench/team_state.py
    wall = loop_cpu = proc_cpu = between = 0.0
    steps, applies = 0, 0
    try:
        cloud = {"provider": "lab", "region": endpoint.region, "lab_dir": str(lab_dir), "url": endpoint.url}
        t0 = time.perf_counter()
        plan = plan_stack(stack_dir, store=store).plan
        digest = plan_digest(plan)
        t_plan = time.perf_counter() - t0
        first_plan, gates = plan, plan.gates()
        if gates_mode == "upfront":
            _approve(store, plan.stack, gates, digest)
        lab_cpu0, _ = _lab_figures(lab_dir)
        checks0 = _contract_stats(endpoint)
        runner = TimedRunner(CloudSteps(cloud), profile=profile is not None)
        hooks = SlotHooks()
        profiler = None
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        while True:
            engine = Engine(plan, digest, store, runner, hooks=hooks, options=EngineOptions(
                parallelism=parallelism, expected_serial=plan.state_serial,
                replan_digest=lambda: plan_digest(plan_stack(stack_dir, store=store).plan)))
            ru0, cpu0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.thread_time(), time.perf_counter()
            result = engine.run()
            wall += time.perf_counter() - w0
            loop_cpu += time.thread_time() - cpu0
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            proc_cpu += ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
            steps += len(result.done)
            applies += 1
            if not result.waiting or result.failed or result.approve_digest is None:
                break
            # at-stops: approve every waiting gate for the digest apply printed, then `mgc-iac apply STACK` again
            t1 = time.perf_counter()
            _approve(store, plan.stack, [w.gate for w in result.waiting], result.approve_digest)
            plan = plan_stack(stack_dir, store=store).plan
            digest = plan_digest(plan)
            between += time.perf_counter() - t1
            if digest != result.approve_digest:
                raise SystemExit(f"re-plan digest {digest} differs from the one apply printed {result.approve_digest}")
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
            if runner.profiles:
                import pstats

                merged = pstats.Stats(runner.profiles[0])
                for extra in runner.profiles[1:]:
                    merged.add(extra)
                merged.dump_stats(str(profile.with_suffix(".runner" + profile.suffix)))
        lab_cpu1, lab_mib = _lab_figures(lab_dir)
        checks1 = _contract_stats(endpoint)
        client_429 = sum(lim.throttled_total for lim in limiters())
        limiter_stats = {lim.service: lim.stats() for lim in limiters()}
    finally:
        store.close()
        stop_background(lab_dir)
    return {"servers": servers, "cap": cap, "parallelism": parallelism, "plan_s": t_plan, "gates": len(gates),
            "mode": gates_mode, "applies": applies, "between_s": between,
            "wall_s": wall, "steps": steps, "exit": result.exit_code, "failed": dict(list(result.failed.items())[:3]),
            "loop_cpu_s": loop_cpu, "proc_cpu_s": proc_cpu, "runner_sum_s": sum(e - s for s, e in runner.intervals),
            "runner_busy_s": runner.busy_seconds(), "lab_cpu_s": lab_cpu1 - lab_cpu0, "lab_mib": lab_mib,
            "checks": checks1["checks"] - checks0["checks"],
            "check_s": checks1["check_seconds"] - checks0["check_seconds"],
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "hooks": hooks,
            "calls": _calls(checks0, checks1), "rate_limit": rate_limit, "client_429": client_429,
            "rate_per": rate_per, "load_before": load_before,
            "limiters": limiter_stats,
            "poll_interval": poll_interval,
            "order": [s.address for _, _, s in sorted((first_plan.workflow_order.index(s.workflow), i, s)
                                                      for i, s in enumerate(first_plan.server_changes))]}


def check_cap_fifo(r: dict[str, Any]) -> list[str]:
    """Problems with the cap and FIFO order ([] = held)."""
    hooks: SlotHooks = r["hooks"]
    order: list[str] = r["order"]
    cap = r["cap"]
    problems = []
    first, rest = order[:cap], order[cap:]
    if hooks.max_in_flight > cap:
        problems.append(f"{hooks.max_in_flight} servers held a slot at once (cap {cap})")
    if set(hooks.queued) != set(rest):
        problems.append(f"queued {len(hooks.queued)} servers, expected the last {len(rest)} in creation order")
    if [hooks.queued.get(s) for s in rest] != list(range(1, len(rest) + 1)):
        problems.append("queue positions are not 1..k in workflow creation order")
    starts = sorted(hooks.started, key=hooks.started.__getitem__)
    if set(starts[:cap]) != set(first):
        problems.append("the first servers to start are not the first `cap` in creation order")
    if starts[cap:] != rest:
        problems.append("queued servers did not start in FIFO order")
    if len(starts) != len(order):
        problems.append(f"{len(order) - len(starts)} servers never started")
    return problems


def report(r: dict[str, Any]) -> None:
    steps = max(1, r["steps"])
    per_step_ms = r["loop_cpu_s"] / steps * 1000
    idle_ms = (r["wall_s"] - r["runner_busy_s"]) / steps * 1000
    limit = (f"lab rate limit {r['rate_limit']:g} req/s per {r['rate_per']}" if r["rate_limit"] else
             "no lab rate limit")
    cadence = f"poll_interval {r['poll_interval']:g} s" if r["poll_interval"] else "poll_interval default (10 s)"
    print(f"\n== {r['servers']} servers, cap {r['cap']}, parallelism {r['parallelism']}, gates {r['mode']}, {limit}, "
          f"{cadence} ==")
    if r["mode"] == "upfront":
        print(f"plan               {r['plan_s']:8.2f} s   ({r['gates']} gates approved up front, one apply)")
    else:
        print(f"plan               {r['plan_s']:8.2f} s   ({r['gates']} gates approved at each stop: {r['applies']} "
              f"applies; approve + re-plan between them {r['between_s']:.1f} s, not in the wall time)")
    failed = len(r["hooks"].failed)
    print(f"apply wall         {r['wall_s']:8.2f} s   exit {r['exit']}, {failed} failed step(s)")
    print(f"steps run          {r['steps']:8d}     {r['steps'] / r['wall_s']:.0f} steps/s, "
          f"{r['wall_s'] / r['servers'] * 1000:.1f} ms per server")
    calls = r["calls"]
    total = sum(c["calls"] for c in calls.values())
    refused = sum(c["throttled"] for c in calls.values())
    per = ", ".join(f"{svc} {c['calls']} ({c['calls'] / r['servers']:.1f}/server, {c['throttled']} refused 429)"
                    for svc, c in sorted(calls.items()))
    print(f"cloud calls        {total:8d}     {total / r['servers']:.1f} per server, {refused} refused 429 "
          f"({r['client_429']} seen by the client): {per}")
    print(f"engine/step        {per_step_ms:8.2f} ms  (event-loop CPU {r['loop_cpu_s']:.1f} s) target "
          f"{TARGET_MS_PER_STEP} ms -> {per_step_ms / TARGET_MS_PER_STEP:.2f}x")
    print(f"idle-runner/step   {idle_ms:8.2f} ms  (wall with no runner call in flight)")
    print(f"runner calls       {r['runner_sum_s']:8.1f} s summed, {r['runner_sum_s'] / steps * 1000:.1f} ms mean "
          f"per step; busy {r['runner_busy_s']:.1f} s of wall")
    print(f"CPU                {r['proc_cpu_s']:8.1f} s this process ({r['proc_cpu_s'] / steps * 1000:.1f} ms per "
          f"step: engine + runner + SDK), {r['lab_cpu_s']:.1f} s the lab process; load average "
          f"{r['load_before']:.1f} before the apply, {os.getloadavg()[0]:.1f} at its end (its own waiting threads "
          f"count) on {os.cpu_count()} CPUs")
    print(f"lab process        peak RSS {r['lab_mib']:.0f} MiB")
    print(f"lab SDK-model check {r['check_s']:7.2f} s for {r['checks']} answers "
          f"({r['check_s'] * 1e6 / max(r['checks'], 1):.0f} us each): "
          f"{r['check_s'] / max(r['lab_cpu_s'], 1e-9):.1%} of the lab process's CPU")
    print(f"peak RSS (apply)   {r['rss_mib']:8.0f} MiB (this process: plan + engine + SDK clients)")
    if r["failed"]:
        print(f"FAILED (first)     {r['failed']}")
    report_limiters(r)
    hooks: SlotHooks = r["hooks"]
    queued = len(r["order"]) - r["cap"]
    if queued > 0:
        problems = check_cap_fifo(r)
        print(f"cap/FIFO           {'held' if not problems else 'BROKEN: ' + '; '.join(problems)}: "
              f"{min(r['cap'], len(r['order']))} started at once, {len(hooks.queued)} waited QUEUED (positions "
              f"{min(hooks.queued.values(), default=0)}..{max(hooks.queued.values(), default=0)}), started in "
              f"FIFO order as slots freed; max {hooks.max_in_flight} holding a slot (cap {r['cap']})")
    else:
        print(f"cap                max {hooks.max_in_flight} servers holding a slot (cap {r['cap']})")


def report_limiters(r: dict[str, Any]) -> None:
    """The client's rate limiter: Retry-After pauses (each of one API), and per API the calls sent, 429s, the
    seconds callers waited (for a token, a pause, after a failure), the peak and mean calls per second, the rate
    learnt."""
    for service, st in sorted(r.get("limiters", {}).items()):
        pauses = st["pauses"]
        apis = st["apis"]
        waited = sum(a["token_s"] + a["paused_s"] + a["backoff_s"] for a in apis.values())
        print(f"limiter {service:<10} {len(pauses)} Retry-After pause(s) of one API, {sum(pauses):.1f} s in all "
              f"(longest {max(pauses, default=0):.1f} s); callers waited {waited:.1f} s in all")
        hot = sorted(apis.items(), key=lambda kv: -(kv[1]["token_s"] + kv[1]["paused_s"] + kv[1]["backoff_s"]
                                                     + kv[1]["throttled"]))
        for what, a in hot[:6]:
            per_second = a["per_second"]
            busy = [n for n in per_second.values() if n]
            mean = sum(busy) / len(busy) if busy else 0.0
            rate = f"{a['rate']:.1f}/s" if a["rate"] is not None else "none"
            print(f"  {what:<34} {int(a['sent']):6d} sent, {int(a['throttled']):4d} 429s; waited token "
                  f"{a['token_s']:6.1f} s, pause {a['paused_s']:6.1f} s, after failure {a['backoff_s']:6.1f} s; "
                  f"peak {max(busy, default=0)}/s, mean {mean:.1f}/s over {len(busy)} s; learnt {rate}")


# --- steady state: SMS calls per task per minute while every copy runs ----------------------------------------


@dataclass
class CopyHooks(Hooks):
    """Counts the StartMigration steps that started (every copy is running once all have)."""

    copying: int = 0
    failed: dict[str, str] = field(default_factory=dict)

    def step_started(self, gate: str, attempt: int) -> None:
        if gate.endswith("/StartMigration"):
            self.copying += 1

    def step_finished(self, gate: str, status: str, detail: dict[str, Any]) -> None:
        if status == "failed":
            self.failed[gate] = str(detail.get("error"))


def steady(servers: int, workdir: Path, window: float, rate_limit: float | None, parallelism: int,
           poll_interval: float | None, rate_per: str = "api") -> dict[str, Any]:
    """Every server's full replication runs (lab only: `transfer_seconds`, simulated copies that stay RUNNING);
    the SMS calls the lab answers during `window` seconds, once every copy has started and one poll interval
    passed, per task and per minute."""
    from mgc_iac.cloud import reset_limiters
    from mgc_iac.lab import start_background, stop_background

    reset_limiters()
    ramp = servers * 0.25 + 30          # generous: StartUpAgent of every server at parallelism 10 under the limit
    transfer = ramp + window + 60
    lab_dir, stack_dir = workdir / "lab", workdir / "stack"
    write_stack(stack_dir, servers, servers, poll_interval)
    write_seed(stack_dir / "lab-seed.yaml", rate_limit, transfer_seconds=transfer, rate_per=rate_per)
    os.environ["MGC_IAC_LAB_DIR"] = str(lab_dir)
    endpoint = start_background(lab_dir, seed=stack_dir / "lab-seed.yaml")
    store = open_store(stack_dir / "state.db")
    try:
        cloud = {"provider": "lab", "region": endpoint.region, "lab_dir": str(lab_dir), "url": endpoint.url}
        plan = plan_stack(stack_dir, store=store).plan
        digest = plan_digest(plan)
        _approve(store, plan.stack, plan.gates(), digest)
        hooks = CopyHooks()
        engine = Engine(plan, digest, store, CloudSteps(cloud), hooks=hooks,
                        options=EngineOptions(parallelism=parallelism, expected_serial=plan.state_serial))
        done: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: done.setdefault("result", engine.run()), daemon=True)
        thread.start()
        deadline = time.monotonic() + ramp * 4
        while hooks.copying < servers and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.5)
        all_copying = hooks.copying >= servers
        time.sleep(poll_interval or 10.0)   # the last StartMigration's own action is out of the window
        before, t0 = _contract_stats(endpoint), time.monotonic()
        time.sleep(window)
        after, t1 = _contract_stats(endpoint), time.monotonic()
        thread.join()
        result = done.get("result")
    finally:
        store.close()
        stop_background(lab_dir)
    sms = _calls(before, after).get("sms", {"calls": 0, "throttled": 0})
    minutes = (t1 - t0) / 60
    return {"servers": servers, "window_s": t1 - t0, "all_copying": all_copying, "sms_calls": sms["calls"],
            "per_task_per_min": sms["calls"] / servers / minutes, "throttled": sms["throttled"],
            "exit": result.exit_code if result else None, "failed": dict(list(hooks.failed.items())[:3]),
            "rate_limit": rate_limit, "poll_interval": poll_interval}


def report_steady(r: dict[str, Any]) -> None:
    limit = f"lab rate limit {r['rate_limit']:g} req/s" if r["rate_limit"] else "no lab rate limit"
    cadence = f"poll_interval {r['poll_interval']:g} s" if r["poll_interval"] else "default poll_interval (10 s)"
    print(f"\n== steady state: {r['servers']} copies running, {cadence}, {limit} ==")
    print(f"SMS calls          {r['sms_calls']:8d} in {r['window_s']:.0f} s ({r['throttled']} refused 429); every copy "
          f"running: {r['all_copying']}")
    print(f"per task, minute   {r['per_task_per_min']:8.3f}     target <= {TARGET_CALLS_PER_TASK_MIN:g} -> "
          f"{r['per_task_per_min'] / TARGET_CALLS_PER_TASK_MIN:.3f}x; apply exit {r['exit']}, "
          f"{len(r['failed'])} failed {r['failed'] or ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=None, help="servers (default: quick mode, 200)")
    parser.add_argument("--cap", type=int, default=None,
                        help="max_concurrent_migrations (default: quick mode 150, else = servers)")
    parser.add_argument("--parallelism", type=int, default=10, help="steps at once (the CLI's default: 10)")
    parser.add_argument("--full", action="store_true", help="1,000 servers (cap 1,000), then 1,200 with cap 1,000")
    parser.add_argument("--gates", choices=("upfront", "at-stops"), default="upfront",
                        help="approve every gate of the first plan before applying (default), or approve what "
                        "waits after each apply stops (exit 3) and apply again")
    parser.add_argument("--rate-limit", type=float, default=None, metavar="REQ_PER_S",
                        help="the lab's API gateway limit per service; also runs the same apply without a limit "
                        "first and prints the ratio (the target run: --servers 1000 --rate-limit 50)")
    parser.add_argument("--rate-per", choices=("api", "service", "account"), default="api",
                        help="what the lab's limit counts: each API (the default, APIGW's user limit per API), each "
                        "service, or the account")
    parser.add_argument("--poll-interval", type=float, default=None, metavar="SECONDS",
                        help="the stack's advanced.poll_interval (default: the product default, 10 s)")
    parser.add_argument("--steady", type=int, default=None, metavar="SERVERS",
                        help="only the steady state: SERVERS copies running (lab transfer_seconds), SMS calls per "
                        "task per minute during --window seconds")
    parser.add_argument("--window", type=float, default=60.0, help="steady-state window (seconds)")
    parser.add_argument("--profile", type=Path, help="write cProfiles here: the event loop (FILE) and the runner "
                        "threads merged (FILE with .runner before the suffix); they slow the run")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; lab: background process, job_seconds 0, "
          "instant_transfers on and transition_seconds 0 (lab only: SMS's asynchronous transitions finish at once),"
          " no faults")
    with contextlib.ExitStack() as stack:
        base = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mgc-apply-")))
        if args.steady:
            r = steady(args.steady, base / f"steady-{args.steady}", args.window, args.rate_limit, args.parallelism,
                       args.poll_interval, args.rate_per)
            report_steady(r)
            sys.exit(0 if r["exit"] in (0, 3) and not r["failed"] else 1)
        if args.full:
            runs = [(1000, 1000, None), (1200, 1000, None)]
        elif args.servers is None:
            runs = [(200, args.cap or 150, None)]
        else:
            runs = [(args.servers, args.cap or args.servers, None)]
        if args.rate_limit:
            runs = [*runs, *[(n, c, args.rate_limit) for n, c, _ in runs]]
        results: dict[tuple[int, int], dict[str, Any]] = {}
        bad = False
        for servers, cap, limit in runs:
            workdir = base / f"{servers}-{cap}-{limit or 'free'}"
            r = run(servers, cap, args.parallelism, workdir, args.gates, args.profile, rate_limit=limit,
                    poll_interval=args.poll_interval, rate_per=args.rate_per)
            report(r)
            bad = bad or r["exit"] != 0 or bool(r["servers"] > r["cap"] and check_cap_fifo(r))
            free = results.get((servers, cap))
            if limit and free is not None:
                ratio = r["wall_s"] / free["wall_s"]
                print(f"under the limit    {ratio:8.2f}x the wall time without it ({r['wall_s']:.1f} s vs "
                      f"{free['wall_s']:.1f} s), target <= {TARGET_LIMIT_RATIO:g}x; "
                      f"{len(r['hooks'].failed)} failed step(s) (target 0)")
            else:
                results[(servers, cap)] = r
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
