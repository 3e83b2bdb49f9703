"""Several lab stacks sharing one account and one state backend: what the cross-process cap test and its benchmark
apply at once. Lab only: the seed has `instant_transfers` (SMS copies finish at once, no agent, no bytes), so
what is exercised is the engine, the state backend and the cloud API, not the data path.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED = """cloud:
  region: cn-north-4
  availability_zone: cn-north-4a
  vpcs:
    - name: vpc-main
      cidr: 10.0.0.0/8
      subnets: [{name: subnet-main, cidr: 10.16.0.0/16, gateway_ip: 10.16.0.1}]
  security_groups:
    - name: sg-main
      rules: [{direction: ingress, protocol: tcp, ports: '22', remote_ip_prefix: 0.0.0.0/0, action: allow, priority: 1}]
  kms_keys: [{alias: evs/default, spec: AES_256, state: enabled}]
  flavors: [{id: s6.large.2, vcpus: 2, ram_mb: 4096}]
  images:
    - {id: lab-image-linux, name: Debian 12 64bit, os_type: Linux}
  lab: {job_seconds: JOB, instant_transfers: true, sync_interval_seconds: 0, faults: []}
"""


def write_seed(path: Path, job_seconds: float = 0) -> Path:
    path.write_text(SEED.replace("JOB", str(job_seconds)), encoding="utf-8")
    return path


def write_fleet_stack(directory: Path, index: int, servers: int, cap: int, seed: Path) -> Path:
    """Stack `team-{index}`: one workflow of `servers` servers, MACs unique across the fleet, gates approvable by
    the plan's author (one person runs the test), the account-wide cap `cap`."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["apiVersion: mgc-iac/v1", "kind: MigrationStack", f"metadata: {{name: team-{index}, project: fleet}}",
             "cloud: {provider: lab, region: cn-north-4}",
             # the fleet approves every gate up front (one approval per release)
             "approvals: {required_approvers: 1, allow_plan_author: true, allow_advance: true}",
             f"limits: {{max_concurrent_migrations: {cap}}}", "sources:"]
    for s in range(servers):
        n = index * 1000 + s
        lines += [f"  - name: t{index}-srv-{s:03d}", f"    ip: 10.16.{n >> 8 & 255}.{(n & 255) or 1}",
                  f"    mac: \"fa:16:3e:aa:{n >> 8 & 255:02x}:{n & 255:02x}\"", "    os: linux", "    cpus: 2",
                  "    memory_mb: 4096", "    disks: [{device: /dev/vda, size_gb: 40, used_gb: 12}]",
                  f"    application: team-{index}"]
    lines += ["workflows:", f"  - name: team-{index}-wave", f"    source: {{application: team-{index}}}",
              "    network: {type: public}",
              "    target: {region: cn-north-4, project: cn-north-4, vpc: vpc-main, subnet: subnet-main, "
              "security_group: sg-main, flavor: s6.large.2}",
              "    migration_port: 22", "    encryption: {enabled: true, key_alias: evs/default}",
              # the lab answers at once: task states every second (Huawei Cloud: the default 10s)
              "    advanced: {verify_consistency: true, install_rsync: false, poll_interval: 1s}",
              "    verification_policy: {hash: false, include_paths: [/data]}"]
    (directory / "stack.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "lab-seed.yaml").write_text(seed.read_text(), encoding="utf-8")
    return directory


GATES = ("BusinessValidation", "Cutover")


def gates_of(index: int, servers: int) -> list[str]:
    return [f"team-{index}-wave/t{index}-srv-{s:03d}/{g}" for s in range(servers) for g in GATES]


@dataclass
class FleetRun:
    """What one run of concurrent applies did, read from the shared PostgreSQL state while it ran."""

    wall_s: float = 0.0
    peak_slots: int = 0            # rows of the slots table (what the backend counts)
    peak_in_flight: int = 0        # servers started and not finished, from the step records (independent)
    exits: dict[str, int | None] = field(default_factory=dict)
    first_start: dict[str, int] = field(default_factory=dict)  # server -> journal seq of its first 'before'
    leftover_slots: int = -1
    leftover_locks: int = -1
    killed: str = ""


_IN_FLIGHT = """SELECT count(*) FROM (SELECT stack, workflow, server FROM mgc_iac.steps GROUP BY stack, workflow, server
  HAVING bool_or(status NOT IN ('pending', 'queued'))
     AND NOT bool_or(step = 'MigrationTaskClear' AND status IN ('done', 'skipped'))) started"""


class _Sampler(threading.Thread):
    """Samples the slot count and the servers in flight every few milliseconds, each read consistent."""

    def __init__(self, url: str, run: FleetRun) -> None:
        super().__init__(daemon=True)
        self.url, self.fleet, self.stop = url, run, threading.Event()

    def run_once(self, conn: Any) -> None:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            slots = conn.execute("SELECT count(*) FROM mgc_iac.slots").fetchone()[0]
            flying = conn.execute(_IN_FLIGHT).fetchone()[0]
        self.fleet.peak_slots = max(self.fleet.peak_slots, int(slots))
        self.fleet.peak_in_flight = max(self.fleet.peak_in_flight, int(flying))

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                self.run_once(conn)
            self.run_once(conn)


def run_fleet(root: Path, url: str, env: dict[str, str], stacks: int = 4, servers: int = 2, cap: int = 2,
              kill: bool = True, job_seconds: float = 3, timeout: float = 300) -> FleetRun:
    """`stacks` applies at once (one process each, `mgc-iac apply --max-wait`), started one after the other so
    their workflows are created in stack order; each waits until the previous one holds or queues for slots.
    With `kill`, once every apply has started, the first one whose servers are running (holding slots) is killed
    with SIGKILL mid-step, then approved and applied again (the next pipeline run). Returns what the sampler and
    the journal saw."""
    import psycopg

    from mgc_iac.lab.supervisor import start_background, stop_background

    seed = write_seed(root / "seed.yaml", job_seconds)
    dirs = [write_fleet_stack(root / f"team-{i}", i, servers, cap, seed) for i in range(stacks)]
    lab_dir = Path(env["MGC_IAC_LAB_DIR"])
    start_background(lab_dir, seed=seed)
    result = FleetRun()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Any] = {}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mgc_iac", *args], env=env, cwd=root, capture_output=True,
                              text=True, timeout=120)

    def start(i: int, name: str) -> None:
        logs[name] = open(root / f"{name}.log", "wb")  # noqa: SIM115 - closed below
        procs[name] = subprocess.Popen([sys.executable, "-m", "mgc_iac", "apply", str(dirs[i]), "--auto-approve",
                                        "--max-wait", f"{int(timeout)}s"], env=env, cwd=root, stdout=logs[name],
                                       stderr=subprocess.STDOUT)

    def wait_db(sql: str, *params: Any) -> None:
        deadline = time.monotonic() + 60
        with psycopg.connect(url, autocommit=True) as conn:
            while not conn.execute(sql, params).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the fleet did not get there in time: {sql} {params}")
                time.sleep(0.02)

    sampler = _Sampler(url, result)
    try:
        for i in range(stacks):  # every gate of each stack's plan approved up front (`mgc-iac approve`)
            done = cli("approve", str(dirs[i]), *[a for g in gates_of(i, servers) for a in ("--gate", g)],
                       "--by", "ops@example.com")
            if done.returncode:
                raise RuntimeError(f"approve failed: {done.stdout}{done.stderr}")
        started = time.monotonic()
        sampler.start()
        for i in range(stacks):
            start(i, f"team-{i}")
            wait_db("SELECT EXISTS (SELECT 1 FROM mgc_iac.slots WHERE stack = %s) OR EXISTS "
                    "(SELECT 1 FROM mgc_iac.slot_queue WHERE stack = %s)", f"team-{i}", f"team-{i}")
        if kill:
            # the apply to kill: the first (in start order) whose servers are running now, holding slots
            wait_db("SELECT EXISTS (SELECT 1 FROM mgc_iac.steps WHERE status = 'running')")
            with psycopg.connect(url, autocommit=True) as conn:
                running = {r[0] for r in conn.execute("SELECT DISTINCT stack FROM mgc_iac.steps WHERE status = "
                                                      "'running'").fetchall()}
            index = next(i for i in range(stacks) if f"team-{i}" in running)
            name = f"team-{index}"
            procs[name].send_signal(signal.SIGKILL)
            procs[name].wait()
            result.killed = name
            result.exits[f"{name} (killed)"] = procs.pop(name).returncode
            # the next pipeline run of that stack: approve its current plan's gates, apply again
            cli("approve", str(dirs[index]), *[a for g in gates_of(index, servers) for a in ("--gate", g)],
                "--by", "ops@example.com")
            start(index, name)
        for name, proc in procs.items():
            result.exits[name] = proc.wait(timeout=timeout)
        result.wall_s = time.monotonic() - started
    finally:
        sampler.stop.set()
        if sampler.is_alive():
            sampler.join(timeout=10)
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        for log in logs.values():
            log.close()
        stop_background(lab_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        for server, seq in conn.execute(
                "SELECT split_part(address, '/', 2), min(seq) FROM mgc_iac.journal WHERE phase = 'before' "
                "AND address LIKE '%%/CreateTarget' GROUP BY 1").fetchall():
            result.first_start[server] = int(seq)
        result.leftover_slots = int(conn.execute("SELECT count(*) FROM mgc_iac.slots").fetchone()[0])
        result.leftover_locks = int(conn.execute("SELECT count(*) FROM mgc_iac.locks").fetchone()[0])
    return result
