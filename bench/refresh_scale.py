"""Refresh at scale: read N recorded servers (target + migration task each) back from the lab and find drift.

    .venv/bin/python bench/refresh_scale.py                  # 1,000 servers (the target run)
    .venv/bin/python bench/refresh_scale.py --servers 200    # quick

The recorded state comes from a real apply of apply_scale's generated stack on the lab (background process,
`job_seconds: 0`, `instant_transfers: true`), stopped at BusinessValidation (no approvals), so every server
has a live target and a live SMS task. Then, in the same run:
  batched     mgc_iac.drift: three paginated list calls in all (ECS servers, SMS tasks) + the comparison
  per-resource the baseline: one show call per recorded resource (what a provider-by-provider refresh does)
  plan        `plan --refresh`'s resource half: plan_stack(refresh_resources=True), planning included
Target (issue 14): refresh of 1,000 recorded servers <= 10 s, lookups batched. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from apply_scale import write_seed, write_stack  # noqa: E402

from mgc_iac.cloud import Cloud, CloudSettings  # noqa: E402
from mgc_iac.drift import find_drift, read_live  # noqa: E402
from mgc_iac.engine import CloudSteps, Engine, EngineOptions  # noqa: E402
from mgc_iac.operations._planning import plan_stack  # noqa: E402
from mgc_iac.plan.planfile import plan_digest  # noqa: E402
from mgc_iac.state import open_store  # noqa: E402

TARGET_SECONDS = 10.0


def best(fn, repeat: int = 3) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def run(servers: int, workdir: Path) -> None:
    from mgc_iac.lab import start_background, stop_background

    lab_dir, stack_dir = workdir / "lab", workdir / "stack"
    write_stack(stack_dir, servers, servers)
    write_seed(stack_dir / "lab-seed.yaml")
    os.environ["MGC_IAC_LAB_DIR"] = str(lab_dir)
    endpoint = start_background(lab_dir, seed=stack_dir / "lab-seed.yaml")
    store = open_store(stack_dir / "state.db")
    try:
        config = {"provider": "lab", "region": endpoint.region, "lab_dir": str(lab_dir), "url": endpoint.url}
        plan = plan_stack(stack_dir, store=store).plan
        t0 = time.perf_counter()
        result = Engine(plan, plan_digest(plan), store, CloudSteps(config),
                        options=EngineOptions(parallelism=10, expected_serial=plan.state_serial)).run()
        print(f"apply to BusinessValidation: {time.perf_counter() - t0:.1f} s, exit {result.exit_code}, "
              f"{len(result.waiting)} gates waiting, {len(result.failed)} failed")
        snapshot = store.snapshot(plan.stack)
        recorded = len(snapshot.resources)
        cloud = Cloud(CloudSettings.for_lab(endpoint))

        batched_s, drift = best(lambda: find_drift(snapshot, read_live(snapshot, cloud)))
        live = read_live(snapshot, cloud)

        def per_resource() -> int:
            calls = 0
            for r in snapshot.resources.values():
                if r.kind == "target_server" and r.outputs.get("id"):
                    cloud.ecs.show_server(r.outputs["id"])
                    calls += 1
                elif r.kind == "migration_task" and r.outputs.get("id") and not r.outputs.get("cleared"):
                    cloud.sms.show_task(r.outputs["id"])
                    calls += 1
            return calls

        single_s, calls = best(per_resource, repeat=1)
        plan_s, planned = best(lambda: plan_stack(stack_dir, store=store, refresh_resources=True, cloud=cloud).plan,
                               repeat=1)
        print(f"recorded resources: {recorded} ({servers} servers: target + task each, + notifications)")
        print(f"live read: {len(live.servers or {})} servers, {len(live.tasks or {})} tasks; drift found: "
              f"{len(drift)} (expected 0)")
        print(f"batched refresh (list calls + compare): {batched_s:.2f} s   target <= {TARGET_SECONDS:.0f} s "
              f"({'met' if batched_s <= TARGET_SECONDS else 'NOT met'})")
        print(f"per-resource baseline ({calls} show calls): {single_s:.2f} s   batched/baseline "
              f"{batched_s / single_s:.2f}x")
        print(f"plan with refresh_resources (planning included): {plan_s:.2f} s, drift {len(planned.drift)}")
    finally:
        store.close()
        stop_background(lab_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mgc-refresh-") as tmp:
        run(args.servers, Path(tmp))


if __name__ == "__main__":
    main()
