"""Team state: PostgreSQL against SQLite in the same run, and the account-wide cap across processes.

    .venv/bin/python bench/team_state.py                       # plan 10,000 / apply 1,000 / fleet 4 x 25
    .venv/bin/python bench/team_state.py --plan-servers 1000 --apply-servers 200 --fleet-servers 5   # quick

A throwaway PostgreSQL server (Debian's binaries, mgc_iac/state/pg_local.py) runs on loopback with its default
durability settings (fsync on, synchronous_commit on): every committed state transaction is flushed to disk by
the server, where SQLite (WAL, synchronous=NORMAL) flushes at checkpoints. Both live on the same filesystem.

  plan     validate + plan of N servers against a full recorded state with one change (bench/plan_scale.py's
           stack and seed), each in its own process, best of 3; target PostgreSQL <= 1.5x SQLite
  apply    N servers through the whole lifecycle on the lab (bench/apply_scale.py: instant transfers, gates
           approved up front, one apply), state in SQLite then in PostgreSQL; target <= 1.3x
  fleet    4 `mgc-iac apply` processes on 4 stacks at once against one lab and one PostgreSQL state, a small
           cap, one killed with SIGKILL mid-run and applied again (mgc_iac/lab/fleet.py); wall time and the peak
           number of slots held, sampled from the database
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import apply_scale  # noqa: E402
import plan_scale  # noqa: E402

from mgc_iac.lab.fleet import run_fleet  # noqa: E402
from mgc_iac.state.pg_local import LocalPostgres  # noqa: E402


def bench_plan(servers: int, root: Path, pg: LocalPostgres) -> dict[str, float]:
    stack = root / f"plan-{servers}"
    plan_scale.write_stack(stack, servers)
    states = {"sqlite": str(root / "plan-state.db"), "postgresql": pg.create_database()}
    for state in states.values():
        plan_scale.run_child("seed", stack, state)  # type: ignore[arg-type]
    plan_scale.change_one_server(stack)
    best = {}
    for _ in range(3):
        for name, state in states.items():
            r = plan_scale.run_child("plan", stack, state)  # type: ignore[arg-type]
            best[name] = min(best.get(name, float("inf")), r["total"])
    return best


def bench_apply(servers: int, root: Path, pg: LocalPostgres) -> dict[str, float]:
    walls = {}
    for name, state in (("sqlite", None), ("postgresql", pg.create_database())):
        r = apply_scale.run(servers, servers, 10, root / f"apply-{name}", state=state)
        if r["exit"] != 0:
            raise SystemExit(f"the {name} apply ended with exit {r['exit']}: {r['failed']}")
        walls[name] = r["wall_s"]
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan-servers", type=int, default=10_000)
    parser.add_argument("--apply-servers", type=int, default=1_000)
    parser.add_argument("--fleet-servers", type=int, default=25, help="servers per stack (4 stacks)")
    parser.add_argument("--fleet-cap", type=int, default=20)
    args = parser.parse_args()
    pg = LocalPostgres().start()
    os.environ["PGPASSWORD"] = pg.password
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; PostgreSQL at {pg.url()} (default durability)")
    try:
        with tempfile.TemporaryDirectory(prefix="mgc-team-") as tmp:
            root = Path(tmp)
            plan = bench_plan(args.plan_servers, root, pg)
            ratio = plan["postgresql"] / plan["sqlite"]
            print(f"plan {args.plan_servers} servers, recorded state + 1 change: SQLite {plan['sqlite']:.2f} s, "
                  f"PostgreSQL {plan['postgresql']:.2f} s -> {ratio:.2f}x (target <= 1.5x)", flush=True)
            apply = bench_apply(args.apply_servers, root, pg)
            ratio = apply["postgresql"] / apply["sqlite"]
            print(f"apply {args.apply_servers} servers on the lab: SQLite {apply['sqlite']:.1f} s, PostgreSQL "
                  f"{apply['postgresql']:.1f} s -> {ratio:.2f}x (target <= 1.3x)", flush=True)
            fleet_root = root / "fleet"
            fleet_root.mkdir()
            url = pg.create_database()
            env = {**os.environ, "MGC_IAC_STATE": url, "PYTHONPATH": str(ROOT), "NO_COLOR": "1",
                   "MGC_IAC_LAB_DIR": str(fleet_root / "lab"), "MGC_IAC_AUTHOR": "ops@example.com"}
            start = time.perf_counter()
            run = run_fleet(fleet_root, url, env, stacks=4, servers=args.fleet_servers, cap=args.fleet_cap, kill=True,
                            job_seconds=3)
            print(f"fleet: 4 applies x {args.fleet_servers} servers at once, cap {args.fleet_cap}, {run.killed} "
                  f"killed -9 mid-run and applied again: wall {run.wall_s:.1f} s (with approvals "
                  f"{time.perf_counter() - start:.1f} s); peak slots held {run.peak_slots}, peak servers in flight "
                  f"{run.peak_in_flight} (cap {args.fleet_cap}); exits {run.exits}; slots left {run.leftover_slots}, "
                  f"locks left {run.leftover_locks}")
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
