"""Drift, without a cloud: find_drift on recorded state against live resources given as data, then the plan
that repairs it (the lab end-to-end cases are in tests/e2e/test_drift.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgc_iac.cloud import Server, Task
from mgc_iac.drift import LiveResources, find_drift
from mgc_iac.errors import DriftRefusedError
from mgc_iac.graph import build_graph
from mgc_iac.plan.model import Action, StepAction
from mgc_iac.plan.planfile import plan_digest
from mgc_iac.plan.planner import make_plan
from mgc_iac.render import render_plan
from mgc_iac.stack.loader import load_stack
from mgc_iac.state import ResourceRecord, SQLiteStore, StepRecord, StepStatus

WEB, DB = "shop-wave-1/web-01", "shop-wave-1/db-01"
STEPS = ("CreateTarget", "StartUpAgent", "StartMigration", "StartSynchronization", "VerifyConsistency")


def applied(stack_dir: Path, state: Path, done: tuple[str, ...] = STEPS):
    """State as if the stack was applied: a server, volumes and a task per source; returns (graph, snapshot)."""
    loaded = load_stack(stack_dir)
    graph = build_graph(loaded.stack)
    store = SQLiteStore(state)
    with store.transaction("demo") as txn:
        for res in graph.resources.values():
            outputs: dict = {}
            if res.kind == "target_server":
                outputs = {"id": f"srv-{res.server}", "status": "ACTIVE", "public_ip": f"100.0.0.{len(res.server)}",
                           "volume_ids": [f"vol-{res.server}-0"], "generation": 0}
            elif res.kind == "migration_task":
                outputs = {"id": f"task-{res.server}", "source_id": f"src-{res.server}", "state": "READY"}
            txn.put_resource(ResourceRecord(res.address, res.kind, res.workflow, res.server, res.attrs, outputs))
        for server in graph.servers():
            for step in done:
                txn.put_step(StepRecord(server.workflow, server.server, step, StepStatus.DONE))
    snapshot = store.snapshot("demo")
    store.close()
    return loaded, graph, snapshot


def live_as_recorded(snapshot) -> LiveResources:
    servers, tasks = {}, {}
    for r in snapshot.resources.values():
        if r.kind == "target_server":
            servers[r.outputs["id"]] = Server(r.outputs["id"], r.attrs["name"], "ACTIVE",
                                              public_ips=(r.outputs["public_ip"],),
                                              tags={**r.attrs["tags"], "_sys_enterprise_project_id": "0"},
                                              volume_ids=tuple(r.outputs["volume_ids"]), flavor=r.attrs["flavor"])
        elif r.kind == "migration_task":
            tasks[r.outputs["id"]] = Task(r.outputs["id"], "t", "SYNC_SUCCESS", r.outputs["source_id"], "srv")
    return LiveResources(servers=servers, tasks=tasks, topics=None)


def plan_of(loaded, graph, snapshot, drift=()):
    return make_plan(graph, snapshot, spec_digest=loaded.digest, spec=loaded.canonical, drift=drift)


def test_the_cloud_as_recorded_is_no_drift_and_the_same_digest(demo_stack, isolated_state):
    loaded, graph, snapshot = applied(demo_stack, isolated_state)
    drift = find_drift(snapshot, live_as_recorded(snapshot))
    assert drift == ()  # system tags (_sys_*) and task progress are not drift
    assert plan_digest(plan_of(loaded, graph, snapshot, drift)) == plan_digest(plan_of(loaded, graph, snapshot))


def test_deleted_target_before_cutover_is_replaced_and_its_steps_run_again(demo_stack, isolated_state):
    loaded, graph, snapshot = applied(demo_stack, isolated_state)
    live = live_as_recorded(snapshot)
    del live.servers["srv-db-01"]
    drift = find_drift(snapshot, live)
    assert [(d.address, d.attribute, d.recorded, d.live) for d in drift] == [
        (f"{DB}/target_server", "exists", True, False)]
    plan = plan_of(loaded, graph, snapshot, drift)
    changes = {c.address: c for c in plan.resource_changes}
    assert changes[f"{DB}/target_server"].action is Action.REPLACE
    assert "deleted outside mgc-iac" in changes[f"{DB}/target_server"].reasons[0]
    assert changes[f"{DB}/migration_task"].action is Action.REPLACE  # its task migrated into the deleted server
    db = next(s for s in plan.server_changes if s.server == "db-01")
    assert {st.step: st.action for st in db.steps}["CreateTarget"] is StepAction.RUN
    assert plan.drift[0].effect == "repair"
    text = render_plan(plan, "text")
    assert f"{DB}/target_server exists: exists -> deleted (created again)" in text
    assert "1 resource changed outside mgc-iac" in text


def test_tags_changed_or_added_outside_are_put_back(demo_stack, isolated_state):
    loaded, graph, snapshot = applied(demo_stack, isolated_state)
    live = live_as_recorded(snapshot)
    server = live.servers["srv-web-01"]
    live.servers["srv-web-01"] = Server(server.id, server.name, server.status, public_ips=server.public_ips,
                                        tags={**server.tags, "owner": "someone-else", "extra": "1"},
                                        volume_ids=server.volume_ids, flavor=server.flavor)
    drift = find_drift(snapshot, live)
    assert {d.attribute for d in drift} == {"tags.owner", "tags.extra"}
    plan = plan_of(loaded, graph, snapshot, drift)
    change = next(c for c in plan.resource_changes if c.address == f"{WEB}/target_server")
    assert change.action is Action.UPDATE
    assert change.before["tags"]["owner"] == "someone-else" and change.after["tags"]["owner"] != "someone-else"
    assert set(change.changed) == {"tags.owner", "tags.extra"}
    markdown = render_plan(plan, "markdown")
    assert '| `shop-wave-1/web-01/target_server` | tags.owner | "platform" | "someone-else" |' in markdown


def test_stopped_target_and_stopped_task_are_only_reported(demo_stack, isolated_state):
    loaded, graph, snapshot = applied(demo_stack, isolated_state)
    live = live_as_recorded(snapshot)
    s = live.servers["srv-web-01"]
    live.servers["srv-web-01"] = Server(s.id, s.name, "SHUTOFF", public_ips=s.public_ips, tags=s.tags,
                                        volume_ids=s.volume_ids, flavor=s.flavor)
    live.tasks["task-db-01"] = Task("task-db-01", "t", "ABORT", "src-db-01", "srv")
    drift = find_drift(snapshot, live)
    plan = plan_of(loaded, graph, snapshot, drift)
    assert {(d.attribute, d.effect) for d in plan.drift} == {("status", "report"), ("state", "report")}
    assert {c.action for c in plan.resource_changes} == {Action.NOOP}
    assert plan.has_changes  # `plan --detailed-exitcode` exits 2: drift alone is worth a look


def test_a_task_deleted_outside_is_created_again_from_startupagent(demo_stack, isolated_state):
    loaded, graph, snapshot = applied(demo_stack, isolated_state)
    live = live_as_recorded(snapshot)
    del live.tasks["task-web-01"]
    plan = plan_of(loaded, graph, snapshot, find_drift(snapshot, live))
    changes = {c.address: c.action for c in plan.resource_changes}
    assert changes[f"{WEB}/migration_task"] is Action.REPLACE and changes[f"{WEB}/target_server"] is Action.NOOP
    web = {st.step: st.action for st in next(s for s in plan.server_changes if s.server == "web-01").steps}
    assert web["CreateTarget"] is StepAction.DONE and web["StartUpAgent"] is StepAction.RUN


def test_production_targets_deleted_or_resized_outside_are_refused(demo_stack, isolated_state):
    loaded, graph, snapshot = applied(demo_stack, isolated_state, (*STEPS, "BusinessValidation", "Cutover"))
    live = live_as_recorded(snapshot)
    del live.servers["srv-web-01"]
    s = live.servers["srv-db-01"]
    live.servers["srv-db-01"] = Server(s.id, s.name, s.status, public_ips=s.public_ips, tags=s.tags,
                                       volume_ids=s.volume_ids, flavor="s6.2xlarge.2")
    with pytest.raises(DriftRefusedError) as refused:
        plan_of(loaded, graph, snapshot, find_drift(snapshot, live))
    message = str(refused.value)
    assert f"{WEB}/target_server: target web-01-hw was deleted outside mgc-iac after its Cutover" in message
    assert "set `flavor: s6.2xlarge.2` in the spec to keep it" in message
    assert "remove the server from its workflow in the spec" in message


def test_production_tags_are_put_back(demo_stack, isolated_state):
    loaded, graph, snapshot = applied(demo_stack, isolated_state, (*STEPS, "BusinessValidation", "Cutover"))
    live = live_as_recorded(snapshot)
    s = live.servers["srv-db-01"]
    live.servers["srv-db-01"] = Server(s.id, s.name, s.status, public_ips=s.public_ips, tags={"owner": "x"},
                                       volume_ids=s.volume_ids, flavor=s.flavor)
    plan = plan_of(loaded, graph, snapshot, find_drift(snapshot, live))
    change = next(c for c in plan.resource_changes if c.address == f"{DB}/target_server")
    assert change.action is Action.UPDATE
    assert "tags are safe to change in production" in change.reasons[0]


def test_disks_swapped_outside_replace_the_target_before_cutover(demo_stack, isolated_state):
    loaded, graph, snapshot = applied(demo_stack, isolated_state)
    live = live_as_recorded(snapshot)
    s = live.servers["srv-db-01"]
    live.servers["srv-db-01"] = Server(s.id, s.name, s.status, public_ips=s.public_ips, tags=s.tags,
                                       volume_ids=("vol-new",), flavor=s.flavor)
    plan = plan_of(loaded, graph, snapshot, find_drift(snapshot, live))
    change = next(c for c in plan.resource_changes if c.address == f"{DB}/target_server")
    assert change.action is Action.REPLACE and change.reasons[0].startswith("disks:")
