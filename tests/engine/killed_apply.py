"""Run by test_journal_resume (and test_flow_engine) in a subprocess: apply the stack, and after a step's cloud
work is done (CreateTarget's first server created; with `step=TestLaunch`, the first clone made) but before the
engine records 'after', say so and hang, to be killed with SIGKILL.

The hang is the only injected part (a real kill needs a known moment); every call before it is real.
Usage: python killed_apply.py STACK_DIR CLOUD_CONFIG_JSON MARKER_FILE [poll] [step=NAME]
With `poll` the step instead waits like a polling step that honours cancellation (for the Ctrl-C test), and
the script prints the apply's result as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from mgc_iac.engine import CloudSteps, Engine, EngineOptions
from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.planfile import plan_digest
from mgc_iac.state import default_state_path, open_store

STEP = next((a.split("=", 1)[1] for a in sys.argv[4:] if a.startswith("step=")), "CreateTarget")


class HangAfterCreate(CloudSteps):
    def run_step(self, ctx):  # type: ignore[no-untyped-def]
        outcome = super().run_step(ctx)
        if ctx.step == STEP:
            marker = Path(sys.argv[3])
            marker.with_suffix(".tmp").write_text(json.dumps(outcome.detail))
            marker.with_suffix(".tmp").replace(marker)  # the test polls for the marker: it appears whole
            if "poll" in sys.argv[4:]:
                ctx.cancel.wait(600)
                raise RuntimeError("cancelled")
            time.sleep(600)
        return outcome


def main() -> None:
    stack_dir = Path(sys.argv[1])
    store = open_store(default_state_path(stack_dir))
    plan = plan_stack(stack_dir, store=store).plan
    result = Engine(plan, plan_digest(plan), store, HangAfterCreate(json.loads(sys.argv[2])),
                    options=EngineOptions(parallelism=1)).run()
    print(json.dumps({"interrupted": result.interrupted, "exit_code": result.exit_code}))


if __name__ == "__main__":
    main()
