"""Same plans after a speed-up: plan plan_scale's generated stacks with this checkout's code and with another
checkout's (e.g. main before the change), and compare the plan documents, plan digests and spec digests byte for
byte (key order included: the text rendering shows attributes in their order): empty state for each size, and
recorded+1 (a recorded state with one change) for the first size.

    .venv/bin/python bench/plan_identity.py /path/to/other/checkout [--sizes 1000,10000]

Each plan runs in its own process with `PYTHONPATH=<checkout>`, from a neutral working directory (the plan's
provenance holds the stack directory relative to it). Exit 1 when any document differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def child(stack: str) -> None:
    from mgc_iac.operations._planning import plan_stack
    from mgc_iac.plan.planfile import plan_digest, plan_to_dict

    planned = plan_stack(stack)
    print(json.dumps({"spec_digest": planned.plan.spec_digest, "plan_digest": plan_digest(planned.plan),
                      "warnings": len(planned.checked.diagnostics.warnings),
                      "plan": json.dumps(plan_to_dict(planned.plan), default=str)}))  # key order counts too


def plan_with(checkout: Path, stack: Path, state: Path, work: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout), "MGC_IAC_STATE": str(state), "MGC_IAC_AUTHOR": "bench",
           "MGC_IAC_LAB_DIR": str(work / "no-lab")}
    out = subprocess.run([sys.executable, __file__, "--child", str(stack)], env=env, cwd=work, capture_output=True,
                         text=True, check=False)
    if out.returncode:
        raise SystemExit(f"planning {stack} with {checkout} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, nargs="?", help="the other checkout (its mgc_iac/ imported, not ours)")
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated server counts")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    if args.other is None:
        parser.error("name the other checkout")
    sys.path.insert(0, str(HERE))
    import plan_scale

    sizes = [int(s) for s in args.sizes.split(",")]
    differ = 0
    with tempfile.TemporaryDirectory(prefix="mgc-plan-identity-") as tmp:
        work = Path(tmp)
        cases = [(f"{n} empty", work / f"stack-{n}", work / "none.db") for n in sizes]
        for _, stack, _ in cases:
            plan_scale.write_stack(stack, int(stack.name.split("-")[1]))
        recorded, state = work / f"recorded-{sizes[0]}", work / f"recorded-{sizes[0]}.db"
        plan_scale.write_stack(recorded, sizes[0])
        seeded = subprocess.run([sys.executable, str(HERE / "plan_scale.py"), "--child", "seed", str(recorded)],
                                env={**os.environ, "PYTHONPATH": str(ROOT), "MGC_IAC_STATE": str(state),
                                     "MGC_IAC_AUTHOR": "bench", "MGC_IAC_LAB_DIR": str(work / "no-lab")},
                                cwd=work, capture_output=True, text=True, check=False)
        if seeded.returncode:
            raise SystemExit(f"seeding the recorded state failed:\n{seeded.stderr[-3000:]}")
        plan_scale.change_one_server(recorded)
        cases.append((f"{sizes[0]} recorded+1", recorded, state))
        for name, stack, state_path in cases:
            ours, theirs = (plan_with(c, stack, state_path, work) for c in (ROOT, args.other.resolve()))
            same = ours == theirs
            differ += not same
            print(f"{name:<16} {'identical' if same else 'DIFFERENT'}  plan {ours['plan_digest'][:19]}  "
                  f"spec {ours['spec_digest'][:19]}  ({len(ours['plan']):,} bytes of plan JSON)")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
