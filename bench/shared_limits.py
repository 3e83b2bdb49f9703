"""Two applies of two stacks, in two processes, on one PostgreSQL state and one account (the lab, its gateway
limit on): the 429s the gateway answered and the wall time, with the client-side rate limit shared through the
state (issue 20 point 2: mgc_iac/cloud/_shared.py, table limiter_shares) and without (each apply learns alone).

    flock /work/coord/bench.lock .venv/bin/python bench/shared_limits.py --servers 100 --rate-limit 10
    ... --stagger 30      # the second apply starts 30 s after the first (it may use what the first learnt)

Each pair gets a new lab (apply_scale's seed: instant transfers, no faults; the gateway limit N requests/s per
API) and a new database on one local PostgreSQL server. Both processes plan their stack and record its
approvals, then start their apply together (the parent releases them at once). Printed per pair: each apply's
wall time (Engine.run), exit code, failed steps and the 429s its client received (every 429 the lab answered
it), and the pair's total; then the ratios shared/alone. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT), str(ROOT / "bench")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import apply_scale  # noqa: E402


def write_second_stack(directory: Path, servers: int) -> None:
    """apply_scale's stack under other names and MACs (a MAC is migrated once across the whole state)."""
    apply_scale.write_stack(directory, servers, cap=1000)
    for name in ("stack.yaml", "sources.yaml", "workflows.yaml"):
        path = directory / name
        text = path.read_text(encoding="utf-8")
        for old, new in (("apply-scale-", "apply-scale-b-"), ("srv-", "srvb-"), ('"fa:16:3e:', '"fa:16:3f:')):
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")


def child(stack_dir: Path, url: str, cloud: dict[str, Any], share: bool) -> None:
    """One apply: plan, approve every gate, wait for the parent's word, apply; print its figures as JSON."""
    from mgc_iac.cloud import limiters, sharing_limits
    from mgc_iac.engine import CloudSteps, Engine, EngineOptions
    from mgc_iac.operations._planning import plan_stack
    from mgc_iac.plan.planfile import plan_digest
    from mgc_iac.state import open_store

    store = open_store(url)
    plan = plan_stack(stack_dir, store=store).plan
    digest = plan_digest(plan)
    apply_scale._approve(store, plan.stack, plan.gates(), digest)
    print("ready", flush=True)
    sys.stdin.readline()
    hooks = apply_scale.SlotHooks()
    with store.lock(plan.stack, "apply"), sharing_limits(store.limiter_peer() if share else None):
        t0 = time.perf_counter()
        result = Engine(plan, digest, store, CloudSteps(cloud), hooks=hooks,
                        options=EngineOptions(parallelism=10, expected_serial=plan.state_serial)).run()
        wall = time.perf_counter() - t0
    store.close()
    throttled: dict[str, int] = {}
    for lim in limiters():
        for api, counters in lim.stats()["apis"].items():   # type: ignore[union-attr]
            if counters["throttled"]:
                throttled[api] = int(counters["throttled"])
    print(json.dumps({"throttled": throttled,
                      "stack": plan.stack, "wall_s": wall, "exit": result.exit_code, "failed": len(hooks.failed),
                      "client_429": sum(lim.throttled_total for lim in limiters()),
                      "sent": sum(lim.sent_total for lim in limiters())}), flush=True)


def pair(workdir: Path, server: Any, servers: int, rate_limit: float, share: bool, stagger: float
         ) -> dict[str, Any]:
    from mgc_iac.lab import start_background, stop_background

    lab_dir, a, b = workdir / "lab", workdir / "a", workdir / "b"
    apply_scale.write_stack(a, servers, cap=1000)
    write_second_stack(b, servers)
    apply_scale.write_seed(a / "lab-seed.yaml", rate_limit)
    endpoint = start_background(lab_dir, seed=a / "lab-seed.yaml")
    url = server.create_database()
    cloud = {"provider": "lab", "region": endpoint.region, "lab_dir": str(lab_dir), "url": endpoint.url}
    env = {**os.environ, "MGC_IAC_LAB_DIR": str(lab_dir), "PGPASSWORD": server.password}
    try:
        procs = [subprocess.Popen([sys.executable, __file__, "--child", str(stack), "--state", url, "--cloud",
                                   json.dumps(cloud)] + (["--share"] if share else []), env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for stack in (a, b)]
        for proc in procs:
            line = proc.stdout.readline() if proc.stdout else ""
            if line.strip() != "ready":
                raise SystemExit(f"an apply did not get ready: {line!r}")
        t0 = time.perf_counter()
        for i, proc in enumerate(procs):
            assert proc.stdin is not None
            if i and stagger:
                time.sleep(stagger)   # the second apply starts while the first runs (it can use what it learnt)
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, _ = proc.communicate()
            results.append(json.loads(out.strip().splitlines()[-1]))
        wall = time.perf_counter() - t0
        lab = apply_scale._contract_stats(endpoint)
    finally:
        stop_background(lab_dir)
    return {"share": share, "applies": results, "wall_s": wall,
            "lab_429": sum(int(n) for n in (lab.get("throttled") or {}).values())}


def report(r: dict[str, Any]) -> None:
    what = "shared through the state" if r["share"] else "each apply alone"
    print(f"== rate limit {what}: both applies done in {r['wall_s']:.1f} s, the lab answered "
          f"{r['lab_429']} x 429")
    for a in r["applies"]:
        print(f"   {a['stack']}: {a['wall_s']:.1f} s, exit {a['exit']}, {a['failed']} failed steps, "
              f"{a['client_429']} x 429 of {a['sent']} calls sent")
        print("     429s per API: " + ", ".join(f"{api} {n}" for api, n in sorted(a["throttled"].items(),
                                                                                  key=lambda kv: -kv[1])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=100, help="servers per stack (default 100)")
    parser.add_argument("--rate-limit", type=float, default=10.0, help="the lab's limit, requests/s per API")
    parser.add_argument("--stagger", type=float, default=0.0, metavar="SECONDS",
                        help="start the second apply this long after the first (default: together)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    parser.add_argument("--cloud", help=argparse.SUPPRESS)
    parser.add_argument("--share", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.state, json.loads(args.cloud), args.share)
        return
    from mgc_iac.state.pg_local import LocalPostgres

    print(f"load average before: {os.getloadavg()[0]:.1f}")
    server = LocalPostgres(settings={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="mgc-shared-limits-") as tmp:
            runs = [pair(Path(tmp) / ("shared" if share else "alone"), server, args.servers, args.rate_limit, share,
                         args.stagger) for share in (False, True)]
    finally:
        server.stop()
    print(f"two stacks of {args.servers} servers, two processes, one state, lab limit {args.rate_limit:g} req/s "
          f"per API, the second started {args.stagger:g} s after the first")
    for r in runs:
        report(r)
    alone, shared = runs
    print(f"shared/alone: wall {shared['wall_s'] / alone['wall_s']:.2f}x, 429s "
          f"{shared['lab_429']}/{alone['lab_429']}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
