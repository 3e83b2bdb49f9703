"""Plan at scale: validate + plan stacks of 1k / 10k / 100k servers from YAML, against empty state and
against a full recorded state with one change. Each measurement runs in its own child process so its peak
RSS (ru_maxrss) is its own. The plan's cost (`plan` prices what it creates and deletes) is timed apart, as the
phase `cost`, from the stack's lab-seed.yaml price list (no lab running: the offline path of a lab stack), with
its share of the plan's time.

    .venv/bin/python bench/plan_scale.py [--sizes 1000,10000,100000] [--keep DIR] [--repeat N]

--repeat N plans each case N times (a fresh process each) and reports the medians, with every run's total.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SERVERS_PER_WORKFLOW = 100
TARGETS = {"10k_seconds": 1.5, "100k_seconds": 30.0, "100k_mib": 2048.0, "ratio": 11.0}  # issue 21: 1.5 s, 11x
PHASES = ("load+validate", "graph", "plan")
PRICES = {"currency": "CNY",
          "vm": {f"s6.{size}.2.{os}": price for size, price in (("large", 0.46), ("xlarge", 0.92), ("2xlarge", 1.84))
                 for os in ("linux", "win")},
          "volume": {"SSD": 0.00139}, "bandwidth": {"19_bgp": [{"up_to_mbps": 5, "per_mbps": 0.063},
                                                               {"per_mbps": 0.25}]}}
CHANGED_FLAVOR = ("s6.xlarge.2", "s6.2xlarge.2")  # the one change: a server's flavor override (an update)


# --- stack generation (plain text: yaml.dump would dominate the bench at 100k) ---------------------------


def write_stack(directory: Path, servers: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "stack.yaml").write_text(
        "apiVersion: mgc-iac/v1\nkind: MigrationStack\n"
        f"metadata: {{name: scale-{servers}, project: scale-migration}}\n"
        "cloud: {provider: lab, region: cn-north-4}\n"
        "limits: {max_concurrent_migrations: 1000}\n", encoding="utf-8")  # the page's cap: never raised
    (directory / "lab-seed.yaml").write_text(json.dumps({"cloud": {"region": "cn-north-4", "prices": PRICES}}),
                                             encoding="utf-8")
    with (directory / "sources.yaml").open("w", encoding="utf-8") as out:
        out.write("sources:\n")
        for i in range(servers):
            out.write(_source(i))
    with (directory / "workflows.yaml").open("w", encoding="utf-8") as out:
        out.write("workflows:\n")
        for w in range((servers + SERVERS_PER_WORKFLOW - 1) // SERVERS_PER_WORKFLOW):
            out.write(_workflow(w, range(w * SERVERS_PER_WORKFLOW, min(servers, (w + 1) * SERVERS_PER_WORKFLOW))))


def _source(i: int) -> str:
    windows = (i // SERVERS_PER_WORKFLOW) % 10 == 9  # every tenth workflow moves Windows servers
    ip = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{(i & 255) or 1}"
    disks = ("      - {device: 'C:', size_gb: 80, used_gb: 31.5}\n" if windows else
             "      - {device: /dev/vda, size_gb: 40, used_gb: 12}\n"
             f"      - {{device: /dev/vdb, size_gb: 200, used_gb: {20 + i % 150}}}\n")
    return (f"  - name: srv-{i:06d}\n    ip: {ip}\n    mac: \"fa:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:"
            f"{i & 255:02x}\"\n    os: {'windows' if windows else 'linux'}\n"
            f"    os_version: {'windows-2019' if windows else 'debian-12'}\n"
            f"    cpus: {2 << (i % 3)}\n    memory_mb: {4096 << (i % 3)}\n    disks:\n{disks}"
            f"    application: app-{i // SERVERS_PER_WORKFLOW:05d}\n"
            f"    ssh: {{host: {ip}, user: {'Administrator' if windows else 'root'}, key_file: ~/.ssh/id_ed25519}}\n"
            "    facts: {rsync: true, available_memory_mb: 2048, available_cpus: 1.5}\n")


def _workflow(w: int, members: range, flavor: str = CHANGED_FLAVOR[0]) -> str:
    overrides = "".join(
        f"      srv-{i:06d}: {{target_name: srv-{i:06d}-hw, flavor: {flavor}}}\n" for i in members if i % 10 == 0)
    limit = "      bandwidth_limit_mbps: 1000\n" if w % 2 else ""
    return (f"  - name: wave-{w:05d}\n    description: wave {w} of the data centre exit\n"
            f"    source: {{application: app-{w:05d}}}\n    network: {{type: public}}\n"
            "    target: {region: cn-north-4, project: cn-north-4, vpc: vpc-main, subnet: subnet-main, "
            "security_group: sg-main, volume_type: SSD}\n"
            "    migration_port: 22\n    encryption: {enabled: true, key_alias: evs/default}\n"
            "    advanced:\n      verify_consistency: true\n      start_target_after_migration: true\n"
            f"{limit}      install_rsync: false\n      enterprise_project: default\n"
            f"      tags: {{owner: platform, wave: 'w{w:05d}', cost-centre: cc-42}}\n"
            + ("    verification_policy: {hash: false, include_paths: ['D:\\data'], exclude_paths: ['D:\\data\\tmp']}\n"
               if w % 10 == 9 else  # the Windows workflows (see _source): Windows paths
               "    verification_policy: {hash: false, include_paths: [/data], exclude_paths: [/data/tmp]}\n")
            + f"    servers:\n{overrides}")


def change_one_server(directory: Path) -> None:
    """Change one server's flavor override in the YAML (tags are per workflow: 100 servers would change)."""
    path = directory / "workflows.yaml"
    text = path.read_text(encoding="utf-8")
    old = f"srv-000000: {{target_name: srv-000000-hw, flavor: {CHANGED_FLAVOR[0]}}}"
    path.write_text(text.replace(old, old.replace(CHANGED_FLAVOR[0], CHANGED_FLAVOR[1]), 1), encoding="utf-8")


# --- children ----------------------------------------------------------------------------------------------


def child_seed(stack: Path) -> dict[str, Any]:
    """Record what a previous apply would have: every desired resource, and DONE for each automated step."""
    from mgc_iac.graph import build_graph
    from mgc_iac.operations._planning import check
    from mgc_iac.state import ResourceRecord, StepRecord, StepStatus, open_store

    checked = check(stack)
    graph = build_graph(checked.loaded.stack)
    store = open_store(checked.state_path)
    try:
        with store.transaction(graph.stack) as txn:
            for address, res in graph.resources.items():
                txn.put_resource(ResourceRecord(address, res.kind, res.workflow, res.server, res.attrs))
            for node in graph.servers():
                for step in node.steps:
                    if step.enabled and not step.manual:
                        txn.put_step(StepRecord(node.workflow, node.server, step.kind.value, StepStatus.DONE))
    finally:
        store.close()
    return {"resources": len(graph.resources)}


def child_plan(stack: Path) -> dict[str, Any]:
    """Time plan_stack end to end, with timers on the names it calls to split it into phases."""
    import mgc_iac.operations._planning as planning

    spent = dict.fromkeys(PHASES, 0.0)

    def timed(phase: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[phase] += time.perf_counter() - start
        return wrapper

    planning.check = timed("load+validate", planning.check)
    planning.build_graph = timed("graph", planning.build_graph)
    start, cpu_start = time.perf_counter(), time.process_time()
    planned = planning.plan_stack(stack)
    gc.collect(0)  # the young-generation pass plan_stack leaves pending (it pauses the collector) is its cost too
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    spent["plan"] = total - spent["load+validate"] - spent["graph"]  # state read + keyed diff + provenance
    plan = planned.plan
    from mgc_iac.operations._pricing import price_plan
    from mgc_iac.plan.cost import price_keys, server_costs

    start = time.perf_counter()
    cost = price_plan(plan, stack).cost
    cost_seconds = time.perf_counter() - start
    assert cost is not None and cost.status == "known", cost
    return {"phases": spent, "total": total, "cpu": cpu, "summary": plan.summary(),
            "cost": {"seconds": cost_seconds, "servers": len(cost.servers),
                     "products": len(price_keys(server_costs(plan))), "delta": str(cost.total().delta)},
            "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(kind: str, stack: Path, state: Path) -> dict[str, Any]:
    env = {**os.environ, "MGC_IAC_STATE": str(state), "MGC_IAC_AUTHOR": "bench",
           "MGC_IAC_LAB_DIR": str(state.parent / "no-lab")}  # no lab running: the cost comes from lab-seed.yaml
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(stack)], env=env, capture_output=True,
                         text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{kind} child failed for {stack}:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- report -------------------------------------------------------------------------------------------------


def measure(size: int, root: Path, repeat: int = 1) -> dict[str, dict[str, Any]]:
    stack, state = root / f"stack-{size}", root / f"state-{size}.db"
    start = time.perf_counter()
    write_stack(stack, size)
    print(f"# {size}: generated {sum(p.stat().st_size for p in stack.iterdir()) / 2**20:.1f} MiB of YAML "
          f"in {time.perf_counter() - start:.1f} s", flush=True)
    results = {"empty": _median([run_child("plan", stack, state) for _ in range(repeat)])}
    start = time.perf_counter()
    run_child("seed", stack, state)
    print(f"# {size}: seeded the recorded state in {time.perf_counter() - start:.1f} s", flush=True)
    change_one_server(stack)
    results["recorded+1"] = _median([run_child("plan", stack, state) for _ in range(repeat)])
    return results


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's figures, or the medians of several (the summary and the cost's counts are the same in each)."""
    if len(runs) == 1:
        return runs[0]
    med = statistics.median
    return {**runs[0], "phases": {p: med(r["phases"][p] for r in runs) for p in PHASES},
            "total": med(r["total"] for r in runs), "cpu": med(r["cpu"] for r in runs),
            "cost": {**runs[0]["cost"], "seconds": med(r["cost"]["seconds"] for r in runs)},
            "maxrss_mib": med(r["maxrss_mib"] for r in runs), "totals": [r["total"] for r in runs]}


def report(all_results: dict[int, dict[str, dict[str, Any]]]) -> None:
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (other work on the machine inflates wall "
          "time; cpu s is this process's own CPU time)")
    print(f"\n{'servers':>8}  {'state':<10}  {'phase':<14}  {'seconds':>8}  {'peak MiB':>8}  {'cpu s':>6}  "
          "plan summary")
    for size, by_state in all_results.items():
        for state, r in by_state.items():
            for phase in PHASES:
                print(f"{size:>8}  {state:<10}  {phase:<14}  {r['phases'][phase]:>8.2f}")
            s = r["summary"]
            print(f"{size:>8}  {state:<10}  {'total':<14}  {r['total']:>8.2f}  {r['maxrss_mib']:>8.0f}  "
                  f"{r['cpu']:>6.2f}  "
                  f"{s['create']} create, {s['update']} update, {s['no-op']} no-op, {s['steps_to_run']} steps, "
                  f"{s['gates']} gates")
            if "totals" in r:
                print(f"{size:>8}  {state:<10}  {'runs':<14}  median of {len(r['totals'])}: "
                      + " ".join(f"{t:.2f}" for t in r["totals"]))
            c = r["cost"]
            print(f"{size:>8}  {state:<10}  {'cost (apart)':<14}  {c['seconds']:>8.2f}  {'':>8}  {'':>6}  "
                  f"{c['servers']} servers priced from {c['products']} distinct products, "
                  f"{c['seconds'] / r['total']:.1%} of the plan's time; {c['delta']} CNY a month")
    print("\ntargets:")
    for state in ("empty", "recorded+1"):
        ten, hundred = all_results.get(10_000, {}).get(state), all_results.get(100_000, {}).get(state)
        if ten:
            print(f"  {state:<10} 10k total {ten['total']:.2f} s (target <= {TARGETS['10k_seconds']:g} s): "
                  f"{'ok' if ten['total'] <= TARGETS['10k_seconds'] else 'MISSED'}")
        if hundred:
            print(f"  {state:<10} 100k total {hundred['total']:.2f} s (target <= {TARGETS['100k_seconds']:.0f} s): "
                  f"{'ok' if hundred['total'] <= TARGETS['100k_seconds'] else 'MISSED'}; peak "
                  f"{hundred['maxrss_mib']:.0f} MiB (target <= {TARGETS['100k_mib']:.0f}): "
                  f"{'ok' if hundred['maxrss_mib'] <= TARGETS['100k_mib'] else 'MISSED'}")
        if ten and hundred:
            ratios = ", ".join(f"{p} {hundred['phases'][p] / max(ten['phases'][p], 1e-9):.1f}x" for p in PHASES)
            ratio = hundred["total"] / ten["total"]
            print(f"  {state:<10} 100k/10k total {ratio:.1f}x (target <= {TARGETS['ratio']:g}x): "
                  f"{'ok' if ratio <= TARGETS['ratio'] else 'MISSED'}  [{ratios}]")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated server counts")
    parser.add_argument("--keep", type=Path, help="generate into DIR and keep it (default: a temp dir, removed)")
    parser.add_argument("--repeat", type=int, default=1, help="plan each case N times; report the medians")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "STACK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, stack = args.child
        print(json.dumps((child_seed if kind == "seed" else child_plan)(Path(stack))))
        return
    root = args.keep or Path(tempfile.mkdtemp(prefix="mgc-plan-scale-"))
    try:
        results = {size: measure(size, root, max(args.repeat, 1)) for size in (int(s) for s in args.sizes.split(","))}
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
