"""The planner: every resource action and step action, from recorded state seeded through the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgc_iac.graph import build_graph
from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.model import Action, StepAction
from mgc_iac.stack.loader import load_stack
from mgc_iac.state import ResourceRecord, SQLiteStore, StepRecord, StepStatus


def record_applied(stack_dir: Path, state: Path, done_steps: tuple[str, ...] = ()) -> None:
    """Seed state as if the stack had been applied as written, with some steps done."""
    loaded = load_stack(stack_dir)
    graph = build_graph(loaded.stack)
    store = SQLiteStore(state)
    with store.transaction("demo") as txn:
        for res in graph.resources.values():
            txn.put_resource(ResourceRecord(res.address, res.kind, res.workflow, res.server, res.attrs, {"id": "x"}))
        for server in graph.servers():
            for step in done_steps:
                txn.put_step(StepRecord(server.workflow, server.server, step, StepStatus.DONE))
    store.close()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def actions(plan) -> dict[str, Action]:
    return {c.address: c.action for c in plan.resource_changes}


def steps(plan, server: str) -> dict[str, StepAction]:
    s = next(s for s in plan.server_changes if s.server == server)
    return {st.step: st.action for st in s.steps}


def test_empty_state_creates_everything(demo_stack):
    plan = plan_stack(demo_stack).plan
    assert set(actions(plan).values()) == {Action.CREATE}
    assert steps(plan, "web-01")["CreateTarget"] is StepAction.RUN
    assert steps(plan, "web-01")["BusinessValidation"] is StepAction.WAIT
    assert steps(plan, "web-01")["ResizeDiskPartition"] is StepAction.SKIP
    assert plan.has_changes and len(plan.gates()) == 4


def test_recorded_state_equal_to_spec_is_no_op(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state, ("CreateTarget", "StartUpAgent", "StartMigration"))
    plan = plan_stack(demo_stack).plan
    assert set(actions(plan).values()) == {Action.NOOP}
    assert plan.state_serial == 1
    s = steps(plan, "db-01")
    assert s["CreateTarget"] is s["StartMigration"] is StepAction.DONE
    assert s["StartSynchronization"] is StepAction.RUN


def test_tag_change_is_an_update_listing_the_leaf(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state)
    edit(demo_stack / "workflows.yaml", "owner: platform", "owner: payments")
    plan = plan_stack(demo_stack).plan
    change = next(c for c in plan.resource_changes if c.address == "shop-wave-1/web-01/target_server")
    assert change.action is Action.UPDATE and change.changed == ("tags.owner",)


def test_encryption_change_replaces_with_reason_and_warns(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state, ("CreateTarget", "StartUpAgent", "StartMigration"))
    edit(demo_stack / "workflows.yaml", "key_alias: shop-disk-key", "key_alias: evs/default")
    plan = plan_stack(demo_stack).plan
    change = next(c for c in plan.resource_changes if c.address == "shop-wave-1/web-01/target_server")
    assert change.action is Action.REPLACE
    assert any("cannot be modified after the disk is created" in r for r in change.reasons)
    # its task follows, and the server starts again from CreateTarget
    assert actions(plan)["shop-wave-1/web-01/migration_task"] is Action.REPLACE
    assert steps(plan, "web-01")["StartMigration"] is StepAction.RUN
    assert any(d["rule"] == "encryption-existing-target" for d in plan.diagnostics)


def test_disk_shrink_is_a_replace_and_a_resize_gate(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state)
    edit(demo_stack / "workflows.yaml", "db-01: {target_name: db-01-hw, flavor: s6.xlarge.2}",
         "db-01: {target_name: db-01-hw, flavor: s6.xlarge.2, disks: [{device: /dev/vdb, size_gb: 100}]}")
    plan = plan_stack(demo_stack).plan
    change = next(c for c in plan.resource_changes if c.address == "shop-wave-1/db-01/target_server")
    assert change.action is Action.REPLACE and any("cannot shrink" in r for r in change.reasons)
    assert steps(plan, "db-01")["ResizeDiskPartition"] is StepAction.WAIT


def test_quick_mode_skips_synchronization(demo_stack):
    edit(demo_stack / "workflows.yaml", "quick_mode: false", "quick_mode: true")
    assert steps(plan_stack(demo_stack).plan, "web-01")["StartSynchronization"] is StepAction.SKIP


def drop_server(stack_dir: Path, server: str, override: str) -> None:
    """Take a server out of the workflow: another application, and no override left for it."""
    text = (stack_dir / "sources.yaml").read_text()
    head, tail = text.split(f"- name: {server}\n", 1)
    (stack_dir / "sources.yaml").write_text(head + f"- name: {server}\n" + tail.replace("application: shop",
                                                                                         "application: other", 1))
    edit(stack_dir / "workflows.yaml", override, "")


def test_removed_server_is_forgotten_after_cutover(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state)
    store = SQLiteStore(isolated_state)
    with store.transaction("demo") as txn:
        txn.put_step(StepRecord("shop-wave-1", "web-01", "Cutover", StepStatus.DONE))
    store.close()
    drop_server(demo_stack, "web-01", "      web-01: {target_name: web-01-hw}\n")
    plan = plan_stack(demo_stack).plan
    forget = next(c for c in plan.resource_changes if c.address == "shop-wave-1/web-01/target_server")
    assert forget.action is Action.FORGET and "never deleted" in forget.reasons[0]
    assert actions(plan)["shop-wave-1/db-01/target_server"] is Action.NOOP


def test_removed_server_is_deleted_before_cutover(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state)
    drop_server(demo_stack, "db-01", "      db-01: {target_name: db-01-hw, flavor: s6.xlarge.2}\n")
    acts = actions(plan_stack(demo_stack).plan)
    assert acts["shop-wave-1/db-01/target_server"] is Action.DELETE
    assert acts["shop-wave-1/db-01/migration_task"] is Action.DELETE


def test_cut_over_target_takes_tag_changes_in_place(demo_stack, isolated_state):
    record_applied(demo_stack, isolated_state, ("CreateTarget", "Cutover"))
    edit(demo_stack / "workflows.yaml", "owner: platform", "owner: payments")
    plan = plan_stack(demo_stack).plan
    change = next(c for c in plan.resource_changes if c.address == "shop-wave-1/web-01/target_server")
    assert change.action is Action.UPDATE and "production" in change.reasons[0]
    assert change.changed == ("tags.owner",)


@pytest.mark.parametrize("serial_writes", [1, 3])
def test_plan_records_the_state_serial(demo_stack, isolated_state, serial_writes):
    store = SQLiteStore(isolated_state)
    for _ in range(serial_writes):
        with store.transaction("demo") as txn:
            txn.journal("x", "note")
    store.close()
    assert plan_stack(demo_stack).plan.state_serial == serial_writes
