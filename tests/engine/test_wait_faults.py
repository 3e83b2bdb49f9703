"""CreateTarget on a lab that answers 20% of ecs.show_job polls with HTTP 429 (its fault injection): the
step waits the throttling out until its deadline instead of failing (issue 9, item 9)."""

from __future__ import annotations

from mgc_iac.cloud import Fault, LabControl
from mgc_iac.engine import CloudSteps
from mgc_iac.state import StepStatus

from .helpers import apply


def test_throttled_job_polls_do_not_fail_create_target(stack_dir, store, cloud_cfg, cloud):
    control = LabControl(cloud.settings)
    control.update_settings(job_seconds=1.0)  # every create job needs ~20 polls at the lab's 0.05 s interval
    control.set_faults([Fault("ecs", "show_job", throttle_rate=0.2)], seed=11)
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    control.clear_faults()
    assert result.exit_code == 3, result.failed  # both servers reached BusinessValidation
    steps = store.snapshot("demo").steps
    for server in ("web-01", "db-01"):
        assert steps[f"shop-wave-1/{server}/CreateTarget"].status is StepStatus.DONE
        assert len(cloud.ecs.find_servers(name=f"{server}-hw")) == 1
