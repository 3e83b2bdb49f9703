"""Issue 23 in the engine, on a real lab (HTTP, signed SDK calls; instant transfers): automated checks block a
gate unless an approval overrides them, waves hold a workflow until its dependencies are cut over and release
it in the same apply, and Cutover waits for its window (a fixed clock, then one that moves)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from mgc_iac.approvals import OVERRIDE_CHECKS
from mgc_iac.state import ApprovalRecord, StepStatus
from tests.conftest import http_service

from .helpers import apply, approve_waiting, current, runner

HEALTH = {"status": 503}  # what the web fixture's /health answers: a test "fixes the service" by setting 200


@pytest.fixture
def web() -> Iterator[str]:
    """A controller-side HTTP service: /ok answers 200, /down 503, /health HEALTH["status"] (503 at first)."""
    HEALTH["status"] = 503

    def answer(path: str) -> tuple[int, bytes, dict[str, str]]:
        status = 200 if path == "/ok" else HEALTH["status"] if path == "/health" else 503
        return status, b"healthy" if status == 200 else b"maintenance", {}

    with http_service(answer) as url:
        yield url


def edit_workflows(stack_dir: Path, change: Any) -> None:
    path = stack_dir / "workflows.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["workflows"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_failed_check_blocks_the_gate_until_an_override(stack_dir: Path, store: Any, cloud_cfg: dict[str, Any],
                                                          web: str) -> None:
    def checks(wfs: list[dict[str, Any]]) -> None:
        wfs[0]["validation"] = {"checks": [{"name": "health", "http": f"{web}/ok"},
                                           {"name": "api", "http": f"{web}/down", "expect_status": 200}]}

    edit_workflows(stack_dir, checks)
    result, _ = apply(stack_dir, store, runner(cloud_cfg))
    assert result.exit_code == 3
    reasons = {w.gate: w.reason for w in result.waiting}
    gate = "shop-wave-1/web-01/BusinessValidation"
    assert "checks: 1 of 2 passed; failed: api (HTTP 503, expected 200)" in reasons[gate]
    record = store.snapshot("demo").steps[gate]
    assert record.status is StepStatus.WAITING
    assert [(c["name"], c["passed"], c["output"]) for c in record.detail["checks"]] == [
        ("health", True, "healthy"), ("api", False, "maintenance")]

    approve_waiting(stack_dir, store)                      # a plain approval does not pass a failed check
    result, _ = apply(stack_dir, store, runner(cloud_cfg))
    assert result.exit_code == 3
    reason = {w.gate: w.reason for w in result.waiting}[gate]
    assert "has alice" in reason and "failed: api" in reason
    assert "a failed check blocks the gate: fix the cause and apply again, or approve with --override-checks" in reason

    plan, digest = current(stack_dir, store)
    with store.transaction("demo") as txn:                 # what `approve --override-checks` records (signed)
        for g in plan.gates():
            if g.endswith("/BusinessValidation"):
                txn.add_approval(ApprovalRecord(g, "carol", digest, "2026-01-01T00:00:00Z", "cli", "",
                                                (g, OVERRIDE_CHECKS)))
    result, _ = apply(stack_dir, store, runner(cloud_cfg))
    assert result.exit_code == 3 and all(w.gate.endswith("/Cutover") for w in result.waiting)
    done = store.snapshot("demo").steps[gate]
    assert done.status is StepStatus.DONE and done.detail["checks_overridden_by"] == ["carol"]
    assert [c["passed"] for c in done.detail["checks"]] == [True, False]


def test_a_wave_starts_once_its_dependency_is_cut_over_in_the_same_apply(stack_dir: Path, store: Any,
                                                                          cloud_cfg: dict[str, Any]) -> None:
    sources = stack_dir / "sources.yaml"
    doc = yaml.safe_load(sources.read_text())
    doc["migration_plans"] = [{"name": "db", "servers": ["db-01"]}, {"name": "web", "servers": ["web-01"]}]
    sources.write_text(yaml.safe_dump(doc, sort_keys=False))

    def split(wfs: list[dict[str, Any]]) -> None:
        servers = wfs[0].get("servers") or {}
        db = dict(wfs[0], name="shop-db", source={"migration_plan": "db"},
                  servers={k: v for k, v in servers.items() if k == "db-01"})
        wfs[:] = [dict(wfs[0], name="shop-web", source={"migration_plan": "web"}, depends_on=["shop-db"],
                       servers={k: v for k, v in servers.items() if k == "web-01"}), db]

    edit_workflows(stack_dir, split)
    result, hooks = apply(stack_dir, store, runner(cloud_cfg))
    assert result.exit_code == 3
    assert result.blocked == {"shop-web/web-01": "shop-web waits for Cutover of shop-db (0 of 1 server(s) cut over)"}
    assert ("message", result.blocked["shop-web/web-01"]) in hooks.events
    snapshot = store.snapshot("demo")
    assert not any(g.startswith("shop-web/") for g in snapshot.steps)          # nothing started: no target, no task
    assert not any(a.startswith("shop-web/web-01/") for a in snapshot.resources)  # (its SMN topic is no server's)
    assert [w.gate for w in result.waiting] == ["shop-db/db-01/BusinessValidation"]

    approve_waiting(stack_dir, store)
    result, _ = apply(stack_dir, store, runner(cloud_cfg))
    assert [w.gate for w in result.waiting] == ["shop-db/db-01/Cutover"] and result.blocked
    approve_waiting(stack_dir, store)
    result, _ = apply(stack_dir, store, runner(cloud_cfg))  # db cuts over, and web starts in this apply
    assert result.exit_code == 3 and not result.blocked
    assert "shop-db/db-01/Cutover" in result.done and "shop-web/web-01/CreateTarget" in result.done
    assert result.done.index("shop-web/web-01/CreateTarget") > result.done.index("shop-db/db-01/Cutover")
    assert [w.gate for w in result.waiting] == ["shop-web/web-01/BusinessValidation"]


def _to_cutover(stack_dir: Path, store: Any, cloud_cfg: dict[str, Any], clock: Any) -> None:
    apply(stack_dir, store, runner(cloud_cfg), clock=clock)
    approve_waiting(stack_dir, store)
    apply(stack_dir, store, runner(cloud_cfg), clock=clock)
    approve_waiting(stack_dir, store)


def test_cutover_waits_for_its_window(stack_dir: Path, store: Any, cloud_cfg: dict[str, Any]) -> None:
    def window(wfs: list[dict[str, Any]]) -> None:
        wfs[0]["cutover_window"] = {"days": ["sat"], "start": "22:00", "duration": "4h", "timezone": "Europe/Berlin"}

    edit_workflows(stack_dir, window)
    monday = datetime(2026, 3, 23, 9, 0, tzinfo=UTC)  # closed: the next opening is Sat 2026-03-28 22:00 CET
    _to_cutover(stack_dir, store, cloud_cfg, lambda: monday)
    result, hooks = apply(stack_dir, store, runner(cloud_cfg), clock=lambda: monday,
                          deadline=time.monotonic() + 1.5, window_poll_seconds=0.05)
    assert result.exit_code == 4 and result.in_progress
    expected = "Cutover of shop-wave-1/web-01 waits for its window (next: Sat 2026-03-28 22:00 Europe/Berlin (CET))"
    assert result.scheduled["shop-wave-1/web-01/Cutover"] == expected and ("message", expected) in hooks.events
    steps = store.snapshot("demo").steps
    assert steps["shop-wave-1/web-01/Cutover"].status is StepStatus.WAITING         # never started

    # the clock reaches the window (Sat 22:00 CET = 21:00 UTC) while apply waits: Cutover and SourceClear run
    began = time.monotonic()
    opens = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)
    moving = lambda: monday if time.monotonic() - began < 0.6 else opens  # noqa: E731
    result, _ = apply(stack_dir, store, runner(cloud_cfg), clock=moving, window_poll_seconds=0.05)
    assert result.exit_code == 0, result
    assert time.monotonic() - began >= 0.6
    assert "shop-wave-1/web-01/SourceClear" in result.done and not result.scheduled


def test_source_clear_never_starts_after_the_window_closed(stack_dir: Path, store: Any,
                                                           cloud_cfg: dict[str, Any]) -> None:
    def window(wfs: list[dict[str, Any]]) -> None:
        wfs[0]["cutover_window"] = {"days": ["sat"], "start": "22:00", "duration": "1h", "timezone": "UTC"}

    edit_workflows(stack_dir, window)
    inside = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)
    after = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    _to_cutover(stack_dir, store, cloud_cfg, lambda: inside)
    calls = {"n": 0}

    def closing() -> datetime:  # open when Cutover asks, closed by the time SourceClear asks
        calls["n"] += 1
        steps = store.snapshot("demo").steps
        return after if steps["shop-wave-1/web-01/Cutover"].status is StepStatus.DONE else inside

    result, _ = apply(stack_dir, store, runner(cloud_cfg), clock=closing, deadline=time.monotonic() + 3,
                      window_poll_seconds=0.05)
    steps = store.snapshot("demo").steps
    assert steps["shop-wave-1/web-01/Cutover"].status is StepStatus.DONE
    assert "shop-wave-1/web-01/SourceClear" not in steps or steps["shop-wave-1/web-01/SourceClear"].status \
        is not StepStatus.DONE
    assert result.exit_code == 4 and "SourceClear of shop-wave-1/web-01 waits for its window (next: Sat " \
        "2026-04-04 22:00 UTC)" in result.scheduled.values()


def test_a_clone_deleted_while_its_gate_waits_fails_its_checks_not_the_apply(stack_dir: Path, store: Any,
                                                                             cloud_cfg: dict[str, Any], cloud: Any,
                                                                             web: str) -> None:
    def clone(wfs: list[dict[str, Any]]) -> None:
        wfs[0]["test_launch"] = "clone"
        wfs[0]["validation"] = {"checks": [{"name": "health", "http": f"{web}/health"}]}

    edit_workflows(stack_dir, clone)
    steps = runner(cloud_cfg)
    result, _ = apply(stack_dir, store, steps)
    assert result.exit_code == 3 and len(result.waiting) == 2
    assert all("failed: health (HTTP 503" in w.reason for w in result.waiting)
    approve_waiting(stack_dir, store)
    [web_clone] = cloud.ecs.find_servers(name="web-01-hw-clone")      # deleted in the console meanwhile
    cloud.ecs.delete_server(web_clone.id, delete_volumes=True, wait=True)
    HEALTH["status"] = 200                                             # and the service is fixed

    result, _ = apply(stack_dir, store, steps)
    assert result.exit_code == 3 and not result.failed, result.failed   # the apply goes on for every server
    reasons = {w.gate: w.reason for w in result.waiting}
    gate = "shop-wave-1/web-01/TestValidation"
    assert "failed: health (not run: the clone web-01-hw-clone" in reasons[gate]
    assert "no longer exists (deleted outside mgc-iac)" in reasons[gate]
    assert "shop-wave-1/db-01/TestCleanup" in result.done               # db's checks now pass: it goes on
    assert not cloud.ecs.find_servers(name="db-01-hw-clone")
    assert "has alice" in reasons[gate]               # the approval still counts: the record did not move
    record = store.snapshot("demo").steps[gate]       # (same verdict: it keeps the failure the approver saw)
    assert record.status is StepStatus.WAITING and record.detail["checks"][0]["detail"] == "HTTP 503, expected 200"


def test_a_server_removed_while_its_clone_runs_takes_the_clone_with_it(stack_dir: Path, store: Any,
                                                                       cloud_cfg: dict[str, Any], cloud: Any) -> None:
    """A clone is a billed ECS server that SMS does not delete with its task: removing the server from the stack
    at TestValidation deletes target, task and clone (the other server's clone stays for its test)."""
    edit_workflows(stack_dir, lambda wfs: wfs[0].update(test_launch="clone"))
    result, _ = apply(stack_dir, store, runner(cloud_cfg))
    assert result.exit_code == 3 and len(result.waiting) == 2, result.failed
    assert {s.name for s in cloud.ecs.find_servers()} >= {"db-01-hw-clone", "web-01-hw-clone"}

    sources = stack_dir / "sources.yaml"
    doc = yaml.safe_load(sources.read_text())
    doc["sources"] = [s for s in doc["sources"] if s["name"] != "db-01"]
    doc["migration_plans"] = [dict(p, servers=[s for s in p["servers"] if s != "db-01"])
                              for p in doc["migration_plans"]]
    sources.write_text(yaml.safe_dump(doc, sort_keys=False))
    edit_workflows(stack_dir, lambda wfs: (wfs[0].get("servers") or {}).pop("db-01", None))
    result, _ = apply(stack_dir, store, runner(cloud_cfg))
    assert not result.failed, result.failed
    names = {s.name for s in cloud.ecs.find_servers()}
    assert "db-01-hw" not in names and "db-01-hw-clone" not in names
    assert "web-01-hw-clone" in names


def test_a_failed_clone_is_deleted_before_the_retry_clones_again(stack_dir: Path, store: Any,
                                                                  cloud_cfg: dict[str, Any], cloud: Any) -> None:
    """SMS may end a clone_test in clone_state ERROR (CloneServer.clone_state) with the clone's server left in
    ECS: TestLaunch fails saying so, and the retry deletes that server before it asks for a new clone."""
    from mgc_iac.cloud import LabControl
    from mgc_iac.engine import CloudSteps
    from mgc_iac.engine.rewind import retry

    edit_workflows(stack_dir, lambda wfs: wfs[0].update(test_launch="clone"))

    class CloneFailsOnce(CloudSteps):
        """Arms the lab's own fault (POST /_lab/sms/fail at=clone) just before web-01's first clone_test."""

        armed = False

        def _step_TestLaunch(self, ctx: Any) -> Any:  # noqa: N802 - the runner's step name
            if ctx.server.server == "web-01" and not CloneFailsOnce.armed:
                CloneFailsOnce.armed = True
                LabControl(cloud.settings).fail_source(cloud.sms.show_task(self._task_id(ctx)).source_id, "clone")
            return super()._step_TestLaunch(ctx)

    result, _ = apply(stack_dir, store, CloneFailsOnce(cloud_cfg))
    gate = "shop-wave-1/web-01/TestLaunch"
    assert "the clone failed: lab fault: the clone failed (injected at clone)" in result.failed[gate]
    [failed_clone] = cloud.ecs.find_servers(name="web-01-hw-clone")

    retry(store, "demo", "shop-wave-1/web-01")
    result, _ = apply(stack_dir, store, runner(cloud_cfg))
    assert not result.failed and "shop-wave-1/web-01/TestValidation" in {w.gate for w in result.waiting}
    [clone] = cloud.ecs.find_servers(name="web-01-hw-clone")               # one clone: the failed one is gone
    assert clone.id != failed_clone.id
    assert store.snapshot("demo").steps[gate].detail["test_instance"]["id"] == clone.id
