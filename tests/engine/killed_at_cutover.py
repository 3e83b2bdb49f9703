"""Run by test_cutover_crash in a subprocess: apply the stack (its Cutover gates approved), and right after
the first Cutover call has reached the cloud (before the engine records 'after') say so and hang, to be
killed with SIGKILL.

The hang is the only injected part (a real kill needs a known moment); every call before it is real.
Usage: python killed_at_cutover.py STACK_DIR CLOUD_CONFIG_JSON MARKER_FILE
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


class HangAfterCutover(CloudSteps):
    def run_step(self, ctx):  # type: ignore[no-untyped-def]
        outcome = super().run_step(ctx)
        if ctx.step == "Cutover":
            marker = Path(sys.argv[3])
            marker.with_suffix(".tmp").write_text(json.dumps({"gate": ctx.gate, **outcome.detail}))
            marker.with_suffix(".tmp").replace(marker)  # the test polls for the marker: it appears whole
            time.sleep(600)
        return outcome


def main() -> None:
    stack_dir = Path(sys.argv[1])
    store = open_store(default_state_path(stack_dir))
    plan = plan_stack(stack_dir, store=store).plan
    Engine(plan, plan_digest(plan), store, HangAfterCutover(json.loads(sys.argv[2])),
           options=EngineOptions(parallelism=1)).run()


if __name__ == "__main__":
    main()
