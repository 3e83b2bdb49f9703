"""Full Retry and synchronize-again, through the CLI on a real lab (in-thread, shared with the CLI by URL)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mgc_iac.cli import cli
from mgc_iac.engine import CloudSteps
from mgc_iac.errors import UserError
from mgc_iac.state import StepStatus

from .helpers import apply

WEB = "shop-wave-1/web-01"


def _cli(monkeypatch, cloud_cfg, *args):
    # the CLI reaches the lab of the fixture: same state dir, already running (no background start)
    monkeypatch.setattr("mgc_iac.operations._workspace.lab_cloud_config", lambda spec, d: cloud_cfg)
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_full_retry_deletes_the_task_and_restarts_at_start_up_agent(stack_dir, store, cloud_cfg, cloud,
                                                                     monkeypatch):
    assert apply(stack_dir, store, CloudSteps(cloud_cfg))[0].exit_code == 3
    old_task = store.snapshot("demo").resources[f"{WEB}/migration_task"].outputs["id"]
    result = _cli(monkeypatch, cloud_cfg, "retry", str(stack_dir), WEB, "--full")
    assert result.exit_code == 0, result.output
    steps = store.snapshot("demo").steps
    assert steps[f"{WEB}/CreateTarget"].status is StepStatus.DONE
    assert steps[f"{WEB}/StartUpAgent"].status is StepStatus.PENDING
    assert old_task not in {t.id for t in cloud.sms.list_tasks()}

    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3 and f"{WEB}/StartMigration" in result.done
    new_task = store.snapshot("demo").resources[f"{WEB}/migration_task"].outputs["id"]
    assert new_task != old_task and len(cloud.ecs.find_servers(name="web-01-hw")) == 1


def test_sync_runs_the_synchronization_again_from_business_validation(stack_dir, store, cloud_cfg, monkeypatch):
    with pytest.raises(UserError, match="no recorded steps"):
        _cli(monkeypatch, cloud_cfg, "sync", str(stack_dir), WEB)
    apply(stack_dir, store, CloudSteps(cloud_cfg))
    result = _cli(monkeypatch, cloud_cfg, "sync", str(stack_dir), WEB)
    assert result.exit_code == 0, result.output
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.done == [f"{WEB}/StartSynchronization", f"{WEB}/VerifyConsistency"]
    assert store.snapshot("demo").steps[f"{WEB}/StartSynchronization"].attempt == 2
