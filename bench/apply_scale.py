"""Apply at scale: N servers (workflows of 100) through the whole lifecycle against the lab, gates approved up
front, and the account-wide concurrency cap with its FIFO queue.

    .venv/bin/python bench/apply_scale.py                      # quick: 200 servers, cap 150
    .venv/bin/python bench/apply_scale.py --servers 1000       # the target run (cap = servers)
    .venv/bin/python bench/apply_scale.py --servers 1200 --cap 1000
    .venv/bin/python bench/apply_scale.py --full               # both of the above, one after the other

The lab runs as a background process (its CPU is not in this process) from a temporary state dir, seeded with
a /16 subnet, `job_seconds: 0` (ECS jobs finish at once) and `instant_transfers: true` (LAB ONLY: SMS
start/sync finish at once with a clean consistency result, no agent, no bytes moved), `transition_seconds: 0`
(LAB ONLY: stop, delete, cutover and clear finish their intermediate state at once), `sync_interval_seconds: 0`
(LAB ONLY: continuous synchronisation starts its next round at the next read), and no faults or added
latency. The stack is generated as YAML in a temporary directory.

What a user does, and what is measured: plan the stack, review it, record an approval of every gate of that
plan (BusinessValidation and Cutover of every server: `mgc-iac approve --gate ...`, or approvals.yaml with the
plan's digest) before applying it (the stack sets approvals.allow_advance: true, one approval per release; by
default an approval counts only for a gate that waits), then apply that plan once. Approvals do not move the
state serial, so the plan stays current, and the engine checks every gate against the digest of the plan it
applies: one apply runs every server from CreateTarget to MigrationTaskClear (exit 0). (Approving after each
stop instead means three applies and two re-plans; the engine work per step is the same.)

Figures (printed, never asserted in tests):
  wall            Engine.run() from start to exit (plan and approvals are timed apart)
  steps           steps run (each: a 'before' and an 'after' state transaction around one runner call)
  engine/step     CPU time of the engine's event-loop thread during the apply, divided by steps: the engine's
                  own cost (scheduling, gates, state transactions, hooks), without the runner's cloud calls
                  (they run in worker threads) and without the lab (another process)
  idle-runner     wall time during which no runner call was in flight, divided by steps (engine time on the
                  critical path)
  runner          summed time inside StepRunner.run_step (overlapping: up to `parallelism` at once)
  peak RSS        this process (ru_maxrss) and the lab process (VmHWM)
  cap/FIFO        the first `cap` servers (workflow creation order) start at once, the rest wait QUEUED with
                  positions 1..k and start in that order as slots free; never more than `cap` hold a slot
Targets (issue 4): 1,000 servers end to end in <= 120 s on a 2-core machine, engine overhead <= 5 ms per step.
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
from mgc_iac.operations.planning import plan_stack  # noqa: E402
from mgc_iac.plan.planfile import plan_digest  # noqa: E402
from mgc_iac.state import ApprovalRecord, open_store  # noqa: E402

SERVERS_PER_WORKFLOW = 100
TARGET_SECONDS_PER_1000 = 120.0
TARGET_MS_PER_STEP = 5.0
FIRST_STEP = "CreateTarget"
LAST_STEP = "MigrationTaskClear"


# --- stack and lab seed (plain text) -----------------------------------------------------------------------


def write_seed(path: Path) -> None:
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
        "faults: []}\n", encoding="utf-8")


def write_stack(directory: Path, servers: int, cap: int) -> None:
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
                      f"      tags: {{owner: platform, wave: 'w{w:03d}'}}\n"
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


def run(servers: int, cap: int, parallelism: int, workdir: Path, gates_mode: str = "upfront",
        profile: Path | None = None, state: str | None = None) -> dict[str, Any]:
    from mgc_iac.lab import start_background, stop_background

    lab_dir, stack_dir = workdir / "lab", workdir / "stack"
    write_stack(stack_dir, servers, cap)
    write_seed(stack_dir / "lab-seed.yaml")
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
    target_wall = TARGET_SECONDS_PER_1000 * r["servers"] / 1000
    print(f"\n== {r['servers']} servers, cap {r['cap']}, parallelism {r['parallelism']}, gates {r['mode']} ==")
    if r["mode"] == "upfront":
        print(f"plan               {r['plan_s']:8.2f} s   ({r['gates']} gates approved up front, one apply)")
    else:
        print(f"plan               {r['plan_s']:8.2f} s   ({r['gates']} gates approved at each stop: {r['applies']} "
              f"applies; approve + re-plan between them {r['between_s']:.1f} s, not in the wall time)")
    print(f"apply wall         {r['wall_s']:8.2f} s   target {target_wall:.0f} s (120 s per 1,000) -> "
          f"{r['wall_s'] / target_wall:.2f}x of budget  exit {r['exit']}")
    print(f"steps run          {r['steps']:8d}     {r['steps'] / r['wall_s']:.0f} steps/s, "
          f"{r['wall_s'] / r['servers'] * 1000:.1f} ms per server")
    print(f"engine/step        {per_step_ms:8.2f} ms  (event-loop CPU {r['loop_cpu_s']:.1f} s) target "
          f"{TARGET_MS_PER_STEP} ms -> {per_step_ms / TARGET_MS_PER_STEP:.2f}x")
    print(f"idle-runner/step   {idle_ms:8.2f} ms  (wall with no runner call in flight)")
    print(f"runner calls       {r['runner_sum_s']:8.1f} s summed, {r['runner_sum_s'] / steps * 1000:.1f} ms mean "
          f"per step; busy {r['runner_busy_s']:.1f} s of wall")
    print(f"CPU                {r['proc_cpu_s']:8.1f} s this process ({r['proc_cpu_s'] / steps * 1000:.1f} ms per "
          f"step: engine + runner + SDK), {r['lab_cpu_s']:.1f} s the lab process; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"lab process        peak RSS {r['lab_mib']:.0f} MiB")
    print(f"lab SDK-model check {r['check_s']:7.2f} s for {r['checks']} answers "
          f"({r['check_s'] * 1e6 / max(r['checks'], 1):.0f} us each): "
          f"{r['check_s'] / max(r['lab_cpu_s'], 1e-9):.1%} of the lab process's CPU")
    print(f"peak RSS (apply)   {r['rss_mib']:8.0f} MiB (this process: plan + engine + SDK clients)")
    if r["failed"]:
        print(f"FAILED (first)     {r['failed']}")
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
    parser.add_argument("--profile", type=Path, help="write cProfiles here: the event loop (FILE) and the runner "
                        "threads merged (FILE with .runner before the suffix); they slow the run")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    if args.full:
        runs = [(1000, 1000), (1200, 1000)]
    elif args.servers is None:
        runs = [(200, args.cap or 150)]
    else:
        runs = [(args.servers, args.cap or args.servers)]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; lab: background process, job_seconds 0, "
          "instant_transfers on and transition_seconds 0 (lab only: SMS's asynchronous transitions finish at once),"
          " no faults")
    bad = False
    for servers, cap in runs:
        with contextlib.ExitStack() as stack:
            base = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mgc-apply-")))
            workdir = base / f"{servers}-{cap}"
            r = run(servers, cap, args.parallelism, workdir, args.gates, args.profile)
        report(r)
        bad = bad or r["exit"] != 0 or bool(r["servers"] > r["cap"] and check_cap_fifo(r))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
