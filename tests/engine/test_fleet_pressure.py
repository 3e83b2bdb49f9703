"""Issue 20 through the engine on a real lab (simulated agents: `instant_transfers`, with `transfer_seconds` so a
copy takes time): one reader for every waiting server, waits that lend their parallelism slot, progress as fresh
as the cadence, stalls that end in a failure `retry` can run again, and sustained throttling that ends, shown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mgc_iac.cloud import Fault, LabControl, reset_limiters, sms_states
from mgc_iac.engine import CloudSteps, EngineOptions, RecordingHooks
from mgc_iac.engine.rewind import retry
from mgc_iac.state import StepStatus

from .helpers import apply

WEB, DB = "shop-wave-1/web-01", "shop-wave-1/db-01"


@pytest.fixture(autouse=True)
def fresh_limiters() -> Iterator[None]:
    reset_limiters()
    yield
    reset_limiters()


def advanced(stack_dir: Path, **values: Any) -> None:
    path = stack_dir / "workflows.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["workflows"][0]["advanced"].update(values)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


class TimedHooks(RecordingHooks):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[tuple[float, tuple[Any, ...]]] = []

    def step_started(self, gate: str, attempt: int) -> None:
        super().step_started(gate, attempt)
        self.times.append((time.monotonic(), ("started", gate)))

    def step_finished(self, gate: str, status: str, detail: dict[str, Any]) -> None:
        super().step_finished(gate, status, detail)
        self.times.append((time.monotonic(), ("finished", gate, status)))

    def step_progress(self, gate: str, progress: dict[str, Any]) -> None:
        super().step_progress(gate, progress)
        self.times.append((time.monotonic(), ("progress", gate, progress.get("state"))))


def _run(stack_dir: Path, store: Any, runner: Any, hooks: RecordingHooks, **options: Any) -> Any:
    from mgc_iac.engine import Engine
    from mgc_iac.operations._planning import plan_stack
    from mgc_iac.plan.planfile import plan_digest

    plan = plan_stack(stack_dir, store=store).plan
    return Engine(plan, plan_digest(plan), store, runner, hooks=hooks, options=EngineOptions(**options)).run()


def test_copies_wait_on_one_reader_together_and_show_progress_at_its_cadence(stack_dir, store, cloud_cfg, cloud):
    """Parallelism 1, two servers whose copies take 4 s: both copies run at once (a waiting step lends its slot),
    the task states come from ListTasks/ListServers pages (no ShowTask poll), and progress arrives about once per
    poll_interval."""
    advanced(stack_dir, poll_interval=1)
    control = LabControl(cloud.settings)
    control.update_settings(transfer_seconds=4)
    before = control.stats()["calls"]
    hooks = TimedHooks()
    result = _run(stack_dir, store, CloudSteps(cloud_cfg), hooks, parallelism=1)
    assert result.exit_code == 3, result.failed                      # both servers at BusinessValidation
    calls = {k: v - before.get(k, 0) for k, v in control.stats()["calls"].items()}

    def span(server: str) -> tuple[float, float]:
        gate = f"{server}/StartMigration"
        start = next(t for t, e in hooks.times if e[:2] == ("started", gate))
        end = next(t for t, e in hooks.times if e[:2] == ("finished", gate))
        return start, end

    (a0, a1), (b0, b1) = span(WEB), span(DB)
    assert a1 - a0 >= 4 and b1 - b0 >= 4 and max(a0, b0) < min(a1, b1)   # the two copies overlapped
    progress = [t for t, e in hooks.times if e[0] == "progress" and e[1] == f"{WEB}/StartMigration"]
    assert len(progress) >= 2 and all(0.4 <= b - a <= 2.5 for a, b in zip(progress, progress[1:], strict=False))
    # every wait of both servers (copy, sync, and the rest) was served by the shared list reads
    assert calls["sms.list_tasks"] == calls["sms.list_servers"]
    assert calls.get("sms.show_task", 0) <= 4                        # a few reads before acting, never a poll


def test_a_stalled_copy_fails_and_retry_runs_it_again_from_a_safe_point(stack_dir, store, cloud_cfg, cloud):
    """The copy makes no progress (lab: a transfer that never ends): after stall_timeout the step fails with
    "no progress for N s since ..."; `retry` rewinds it and the next apply stops the task and starts it again."""
    advanced(stack_dir, poll_interval=0.5, stall_timeout=3)
    control = LabControl(cloud.settings)
    control.update_settings(transfer_seconds=3600)
    started = time.monotonic()
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert time.monotonic() - started < 60
    assert result.exit_code == 1
    error = result.failed[f"{WEB}/StartMigration"]
    assert error.startswith("no progress for 3 s since ") and "task RUNNING" in error and "retry" in error
    record = store.snapshot("demo").steps[f"{WEB}/StartMigration"]
    assert record.status is StepStatus.FAILED and record.detail["stalled"]["stall_timeout_seconds"] == 3

    assert retry(store, "demo", WEB) == [f"{WEB}/StartMigration"]
    control.update_settings(transfer_seconds=1)
    actions = control.stats()["calls"].get("sms.update_task_status", 0)
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert f"{WEB}/StartMigration" in result.done and result.exit_code in (1, 3)
    # stop (the safe point), then start: the copy SMS thought ran was begun again
    assert control.stats()["calls"]["sms.update_task_status"] - actions >= 2
    task_id = store.snapshot("demo").resources[f"{WEB}/migration_task"].outputs["id"]
    assert sms_states.migration(cloud.sms.show_task(task_id)).done        # the full copy has finished


def test_sustained_throttling_ends_at_the_stall_timeout_naming_the_endpoint(stack_dir, store, cloud_cfg, cloud,
                                                                             lab):
    """Every SMS call answered 429: the apply shows it and ends (exit 1) once no progress was possible for
    stall_timeout, naming the endpoint and the error; with the faults gone, a plain re-apply converges without
    a duplicate task."""
    advanced(stack_dir, poll_interval=0.5, stall_timeout=4)
    control = LabControl(cloud.settings)
    control.set_faults([Fault("sms", "*", throttle_rate=1.0)])
    hooks = RecordingHooks()
    started = time.monotonic()
    result = _run(stack_dir, store, CloudSteps(cloud_cfg), hooks)
    took = time.monotonic() - started
    control.clear_faults()
    assert result.exit_code == 1 and took < 60
    error = result.failed[f"{WEB}/StartUpAgent"]
    assert error.startswith("no progress for 4 s since ")
    assert lab.endpoint.url in error and "throttled (429, APIGW.0308)" in error
    shown = [e[2] for e in hooks.events if e[0] == "pressure" and e[2]]
    assert any(t.startswith("SMS throttled (429, APIGW.0308); next try in ") and "waiting on it" in t
               for t in shown), shown

    reset_limiters()
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3, result.failed
    assert len(cloud.sms.list_tasks()) == 2                           # one task per server, no duplicate


def test_max_wait_during_throttling_returns_4_and_says_who_pushes_back(stack_dir, store, cloud_cfg, cloud):
    advanced(stack_dir, poll_interval=0.5)
    control = LabControl(cloud.settings)
    control.set_faults([Fault("sms", "*", throttle_rate=1.0)])
    result = _run(stack_dir, store, CloudSteps(cloud_cfg), RecordingHooks(), deadline=time.monotonic() + 4)
    control.clear_faults()
    assert result.exit_code == 4
    assert any(line.startswith("SMS at http://") and "throttled (429, APIGW.0308)" in line
               for line in result.pushback), result.pushback
    steps = store.snapshot("demo").steps
    assert steps[f"{WEB}/StartUpAgent"].status is StepStatus.RUNNING   # resumable: the next apply picks it up
    reset_limiters()
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3, result.failed
