"""A stack over months, applied on the lab: a renamed workflow moves its servers (nothing destroyed), a server
removed and added back gets a new target (a new idempotency token), and removed servers leave no step records."""

from __future__ import annotations

from pathlib import Path

from mgc_iac.engine import CloudSteps
from mgc_iac.plan.model import Action
from mgc_iac.resources import TARGET_SERVER

from .helpers import apply, current

DB_OVERRIDE = "      db-01: {target_name: db-01-hw, flavor: s6.xlarge.2}\n"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def server_ids(cloud, name: str) -> list[str]:
    return [s.id for s in cloud.ecs.find_servers(name=name)]


def test_rename_moves_remove_then_add_back_creates_again(stack_dir, store, cloud_cfg, cloud):
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3, result.failed  # both servers wait at BusinessValidation
    web_id = store.snapshot("demo").resources[f"shop-wave-1/web-01/{TARGET_SERVER}"].outputs["id"]

    edit(stack_dir / "workflows.yaml", "name: shop-wave-1", "name: shop-wave-a")
    plan, _ = current(stack_dir, store)
    assert len(plan.moves()) == 4 and plan.count(Action.CREATE) == 0
    result, hooks = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3, result.failed
    snap = store.snapshot("demo")
    assert snap.resources[f"shop-wave-a/web-01/{TARGET_SERVER}"].outputs["id"] == web_id  # the same server
    assert not any(a.startswith("shop-wave-1/") for a in snap.resources)
    assert {r.workflow for r in snap.steps.values()} == {"shop-wave-a"}
    assert snap.steps["shop-wave-a/web-01/StartMigration"].status.value == "done"  # progress kept
    assert not any(e[0] == "step_started" and "CreateTarget" in e[1] for e in hooks.events)
    assert server_ids(cloud, "web-01-hw") == [web_id]

    # db-01 leaves the workflow: deleted before Cutover, and its step records go with it
    sources = stack_dir / "sources.yaml"
    text = sources.read_text()
    head, tail = text.split("- name: db-01\n", 1)
    sources.write_text(head + "- name: db-01\n" + tail.replace("application: shop", "application: other", 1))
    edit(stack_dir / "workflows.yaml", DB_OVERRIDE, "")
    edit(sources, "servers: [web-01, db-01]", "servers: [web-01]")
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert not result.failed, result.failed
    snap = store.snapshot("demo")
    assert not any(r.server == "db-01" for r in snap.steps.values())  # nothing lingers as waiting
    assert server_ids(cloud, "db-01-hw") == []

    # and comes back, with the workflow renamed back: web-01 moves back, db-01's CreateTarget creates a new
    # server at the address it had first (a replayed token would answer the deleted server: 404 forever)
    sources.write_text(text)
    edit(stack_dir / "workflows.yaml", "name: shop-wave-a", "name: shop-wave-1")
    edit(stack_dir / "workflows.yaml", "      web-01: {target_name: web-01-hw}\n",
         "      web-01: {target_name: web-01-hw}\n" + DB_OVERRIDE)
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3 and not result.failed, result.failed
    assert len(server_ids(cloud, "db-01-hw")) == 1
    assert server_ids(cloud, "web-01-hw") == [web_id]
