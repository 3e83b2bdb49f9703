"""Plans over a stack's life: moves between workflows, renames, changes after Cutover, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mgc_iac.errors import PlanRefusedError
from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.model import Action, StepAction
from mgc_iac.render import render_plan
from mgc_iac.state import SQLiteStore, StepRecord, StepStatus

from .test_planner import record_applied

DONE = ("CreateTarget", "StartUpAgent", "StartMigration", "StartSynchronization", "VerifyConsistency")


def workflows(stack: Path) -> dict:
    return yaml.safe_load((stack / "workflows.yaml").read_text())


def save(stack: Path, doc: dict) -> None:
    (stack / "workflows.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def rename_workflow(stack: Path, new: str) -> None:
    doc = workflows(stack)
    doc["workflows"][0]["name"] = new
    save(stack, doc)


def split_db_into_its_own_workflow(stack: Path) -> None:
    """db-01 moves to a new workflow `shop-db` (same target settings, selected by a migration plan)."""
    doc = workflows(stack)
    first = doc["workflows"][0]
    second = yaml.safe_load(yaml.safe_dump(first))
    second["name"] = "shop-db"
    second["source"] = {"migration_plan": "db-only"}
    second["servers"] = {"db-01": first["servers"].pop("db-01")}
    first["source"] = {"migration_plan": "web-only"}
    doc["workflows"].append(second)
    save(stack, doc)
    sources = yaml.safe_load((stack / "sources.yaml").read_text())
    sources["migration_plans"] = [{"name": "web-only", "servers": ["web-01"]},
                                  {"name": "db-only", "servers": ["db-01"]}]
    (stack / "sources.yaml").write_text(yaml.safe_dump(sources, sort_keys=False))


def by_address(plan):
    return {c.address: c for c in plan.resource_changes}


def test_renaming_a_workflow_plans_a_move_that_keeps_targets_and_progress(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state, DONE)
    rename_workflow(demo_stack, "shop-wave-a")
    plan = plan_stack(demo_stack).plan
    changes = by_address(plan)
    # nothing destroyed, nothing created: the servers' records move (the workflow's notification record is
    # re-keyed by create + delete, which touch no cloud resource: its topic is the user's)
    assert {c.action for c in changes.values() if c.kind != "notification"} == {Action.NOOP}
    moved = changes["shop-wave-a/web-01/target_server"]
    assert moved.moved_from == "shop-wave-1/web-01/target_server"
    assert changes["shop-wave-a/db-01/migration_task"].moved_from == "shop-wave-1/db-01/migration_task"
    assert plan.summary()["move"] == 4 and plan.has_changes
    web = next(s for s in plan.server_changes if s.server == "web-01")
    assert {st.step: st.action for st in web.steps}["StartMigration"] is StepAction.DONE  # not copied again
    text = render_plan(plan, "text", color=False)
    assert "moved from shop-wave-1/web-01/target_server" in text and "4 to move" in text
    md = render_plan(plan, "markdown")
    assert "moved from `shop-wave-1/web-01/target_server`" in md and "| To move |" in md and "| move |" in md
    import json

    doc = json.loads(render_plan(plan, "json"))
    moved = {c["address"]: c.get("moved_from") for c in doc["resource_changes"]}
    assert moved["shop-wave-a/web-01/target_server"] == "shop-wave-1/web-01/target_server"
    assert doc["summary"]["move"] == 4


def test_moving_a_server_to_another_workflow_is_a_move(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state, DONE)
    split_db_into_its_own_workflow(demo_stack)
    changes = by_address(plan_stack(demo_stack).plan)
    assert changes["shop-db/db-01/target_server"].action is Action.NOOP
    assert changes["shop-db/db-01/target_server"].moved_from == "shop-wave-1/db-01/target_server"
    assert "shop-wave-1/db-01/target_server" not in changes  # not deleted
    assert changes["shop-wave-1/web-01/target_server"].moved_from is None


def test_an_explicit_moved_block_moves_a_renamed_source(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state, DONE)
    # the source is renamed AND its MAC was mistyped before: only the `moved:` block says it is the same
    for name in ("sources.yaml", "workflows.yaml"):
        path = demo_stack / name
        path.write_text(path.read_text().replace("web-01:", "web-1:").replace("name: web-01", "name: web-1")
                        .replace("[web-01, db-01]", "[web-1, db-01]").replace("fa:16:3e:00:00:01", "fa:16:3e:00:00:09"))
    assert by_address(plan_stack(demo_stack).plan)["shop-wave-1/web-1/target_server"].action is Action.CREATE
    (demo_stack / "moved.yaml").write_text("moved:\n  - {from: shop-wave-1/web-01, to: shop-wave-1/web-1}\n")
    changes = by_address(plan_stack(demo_stack).plan)
    assert changes["shop-wave-1/web-1/target_server"].moved_from == "shop-wave-1/web-01/target_server"
    assert changes["shop-wave-1/web-1/migration_task"].action is Action.REPLACE  # a new MAC is a new task
    assert "shop-wave-1/web-01/target_server" not in changes


def test_moving_a_server_past_cutover_is_refused(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state, (*DONE, "BusinessValidation", "Cutover"))
    rename_workflow(demo_stack, "shop-wave-a")
    with pytest.raises(PlanRefusedError, match="in production since its Cutover"):
        plan_stack(demo_stack)


@pytest.mark.parametrize("old, new, field", [
    ("encryption: {enabled: true, key_alias: shop-disk-key}", "encryption: {enabled: false}", "encryption"),
    ("db-01: {target_name: db-01-hw, flavor: s6.xlarge.2}",
     "db-01: {target_name: db-01-hw, flavor: s6.xlarge.2, disks: [{device: /dev/vdb, size_gb: 100}]}", "disks"),
])
def test_unsafe_changes_after_cutover_are_refused(demo_stack, isolated_state, old, new, field):
    record_applied(demo_stack, isolated_state, (*DONE, "BusinessValidation", "Cutover"))
    path = demo_stack / "workflows.yaml"
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(PlanRefusedError, match=f"{field} cannot change after Cutover") as err:
        plan_stack(demo_stack)
    assert "revert" in str(err.value)


def test_tag_removed_after_cutover_is_an_update(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state, (*DONE, "BusinessValidation", "Cutover"))
    path = demo_stack / "workflows.yaml"
    path.write_text(path.read_text().replace("tags: {owner: platform, app: shop}", "tags: {owner: platform}"))
    change = by_address(plan_stack(demo_stack).plan)["shop-wave-1/web-01/target_server"]
    assert change.action is Action.UPDATE and change.after["tags"] == {"owner": "platform"}


def test_a_removed_server_with_lingering_steps_is_not_planned(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state)
    store = SQLiteStore(isolated_state)
    with store.transaction("demo") as txn:
        txn.put_step(StepRecord("gone-wf", "old-01", "BusinessValidation", StepStatus.WAITING))
    store.close()
    plan = plan_stack(demo_stack).plan
    assert all("old-01" not in g for g in plan.gates())


def test_a_flavor_change_is_an_update_but_refused_while_the_copy_runs(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state, ("CreateTarget", "StartUpAgent"))
    path = demo_stack / "workflows.yaml"
    path.write_text(path.read_text().replace("web-01: {target_name: web-01-hw}",
                                             "web-01: {target_name: web-01-hw, flavor: s6.xlarge.2}"))
    change = by_address(plan_stack(demo_stack).plan)["shop-wave-1/web-01/target_server"]
    assert change.action is Action.UPDATE and change.changed == ("flavor",)  # an in-place ECS resize
    store = SQLiteStore(isolated_state)
    with store.transaction("demo") as txn:
        txn.put_step(StepRecord("shop-wave-1", "web-01", "StartMigration", StepStatus.RUNNING))
    store.close()
    with pytest.raises(PlanRefusedError, match="flavor cannot change while StartMigration runs"):
        plan_stack(demo_stack)


def test_sync_on_a_quick_mode_workflow_is_refused_and_the_serial_does_not_move(demo_stack, isolated_state):
    from mgc_iac.engine.rewind import resync
    from mgc_iac.errors import UserError

    store = SQLiteStore(isolated_state)
    with store.transaction("demo") as txn:
        txn.put_step(StepRecord("shop-wave-1", "web-01", "StartSynchronization", StepStatus.SKIPPED))
        txn.put_step(StepRecord("shop-wave-1", "web-01", "BusinessValidation", StepStatus.WAITING))
    serial = store.serial("demo")
    with pytest.raises(UserError, match="quick-mode workflow, which skips incremental synchronization"):
        resync(store, "demo", "shop-wave-1/web-01")
    assert store.serial("demo") == serial
    store.close()


def test_a_saved_plan_keeps_its_moves(demo_stack, isolated_state, tmp_path):
    from mgc_iac.plan.planfile import read_plan, write_plan

    record_applied(demo_stack, isolated_state, DONE)
    rename_workflow(demo_stack, "shop-wave-a")
    plan = plan_stack(demo_stack).plan
    digest = write_plan(plan, tmp_path / "plan.json")
    again, read_digest = read_plan(tmp_path / "plan.json")
    assert read_digest == digest and again.moves() == plan.moves()
    assert "moved from shop-wave-1/db-01/migration_task" in render_plan(again, "text")


def test_moving_while_the_agent_runs_warns_about_the_full_retry(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state, ("CreateTarget",))
    rename_workflow(demo_stack, "shop-wave-a")
    assert not [d for d in plan_stack(demo_stack).plan.diagnostics if d["rule"] == "move"]
    rename_workflow(demo_stack, "shop-wave-1")
    isolated_state.unlink()
    record_applied(demo_stack, isolated_state, DONE)  # the agent was started
    rename_workflow(demo_stack, "shop-wave-b")
    warned = [d for d in plan_stack(demo_stack).plan.diagnostics if d["rule"] == "move"]
    assert len(warned) == 2 and "Full Retry" in warned[0]["message"]
