"""A stack over months, applied on the lab: a renamed workflow moves its servers (nothing destroyed), a server
removed and added back gets a new target (a new idempotency token), and removed servers leave no step records."""

from __future__ import annotations

from pathlib import Path

from mgc_iac.engine import CloudSteps
from mgc_iac.graph.kinds import TARGET_SERVER
from mgc_iac.plan.model import Action

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
    assert len(plan.moves()) == 4
    # only the workflow's notification record is re-keyed by create + delete (its topic is the user's)
    assert [c.kind for c in plan.resource_changes if c.action is Action.CREATE] == ["notification"]
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


def run_to_the_end(stack_dir, store, cloud_cfg) -> None:
    from .helpers import approve

    for _ in range(3):
        result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
        assert not result.failed, result.failed
        if result.exit_code == 0:
            return
        plan, digest = current(stack_dir, store)
        approve(store, "demo", plan.gates(), digest)
    raise AssertionError("the demo did not complete")


def test_after_cutover_tags_are_applied_and_removed_and_the_flavor_is_resized(stack_dir, store, cloud_cfg, cloud):
    run_to_the_end(stack_dir, store, cloud_cfg)
    [web] = cloud.ecs.find_servers(name="web-01-hw")
    assert web.tags == {"app": "shop", "owner": "platform"} and web.flavor == "s6.large.2"
    edit(stack_dir / "workflows.yaml", "tags: {owner: platform, app: shop}", "tags: {owner: payments}")
    edit(stack_dir / "workflows.yaml", "web-01: {target_name: web-01-hw}",
         "web-01: {target_name: web-01-hw, flavor: s6.xlarge.2}")
    plan, _ = current(stack_dir, store)
    change = next(c for c in plan.resource_changes if c.address == f"shop-wave-1/web-01/{TARGET_SERVER}")
    assert change.action is Action.UPDATE and set(change.changed) == {"flavor", "tags.app", "tags.owner"}
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 0 and not result.failed, result.failed
    [web] = cloud.ecs.find_servers(name="web-01-hw")
    assert web.tags == {"owner": "payments"}  # `app` is gone from the spec, so from the server
    assert web.flavor == "s6.xlarge.2" and web.status == "ACTIVE"  # resized in place, running again
    [db] = cloud.ecs.find_servers(name="db-01-hw")
    assert db.tags == {"owner": "payments"}
    assert not current(stack_dir, store)[0].has_changes


def test_a_flavor_ecs_does_not_have_fails_the_resize_and_changes_nothing(stack_dir, store, cloud_cfg, cloud):
    run_to_the_end(stack_dir, store, cloud_cfg)
    edit(stack_dir / "workflows.yaml", "web-01: {target_name: web-01-hw}",
         "web-01: {target_name: web-01-hw, flavor: s6.huge.9}")
    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert "flavor s6.huge.9 does not exist" in result.failed[f"shop-wave-1/web-01/{TARGET_SERVER}"]
    [web] = cloud.ecs.find_servers(name="web-01-hw")
    assert web.flavor == "s6.large.2"


def test_a_provider_create_whose_token_answers_a_deleted_server_creates_a_new_one(stack_dir, store, cloud_cfg, cloud):
    """The Pulumi path keeps no incarnation: the token of a re-created target answers the deleted server, so
    create moves to the next token of a fixed sequence (a crash replay of that create still finds it)."""
    from mgc_iac.providers import TargetServerProvider

    result, _ = apply(stack_dir, store, CloudSteps(cloud_cfg))
    assert result.exit_code == 3, result.failed
    plan, _ = current(stack_dir, store)
    attrs = store.snapshot("demo").resources[f"shop-wave-1/web-01/{TARGET_SERVER}"].attrs
    props = CloudSteps(cloud_cfg)._target_props("demo", f"shop-wave-1/web-01/{TARGET_SERVER}", attrs, "linux", 0)
    provider = TargetServerProvider()
    first = provider.create({**props, "name": "again-hw"})
    provider.delete(first.id, {**first.outs, "cloud": cloud_cfg})
    second = provider.create({**props, "name": "again-hw"})
    assert second.id != first.id and [s.id for s in cloud.ecs.find_servers(name="again-hw")] == [second.id]
    assert provider.create({**props, "name": "again-hw"}).id == second.id  # a replay finds it
