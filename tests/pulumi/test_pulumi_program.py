"""The Pulumi program (Pulumi.yaml -> pulumi_program/__main__.py) under Pulumi's mocks, in a subprocess
(set_mocks is process-global): it declares the stack's graph with the providers of providers/, the inputs the
engine builds, and the dependency of each migration task on its target server."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dill
import pytest
import yaml

from mgc_iac.engine.runners.cloud import CloudSteps
from mgc_iac.graph import build_graph
from mgc_iac.providers import MigrationTaskProvider, NotificationProvider, TargetServerProvider
from mgc_iac.pulumi.program import replacement_generation
from mgc_iac.stack.loader import load_stack
from tests.conftest import stop_labs

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TARGET = "pulumi-python:dynamic/mgc:TargetServer"
TASK = "pulumi-python:dynamic/mgc:MigrationTask"
NOTE = "pulumi-python:dynamic/mgc:Notification"


def run_program(stack_dir: Path | str, work: Path) -> subprocess.CompletedProcess[str]:
    """Run the program as Pulumi's Python host would, with `mgc-iac:stack` set, in its own process."""
    env = {**os.environ, "PULUMI_CONFIG": json.dumps({"mgc-iac:stack": str(stack_dir)}),
           "MGC_IAC_LAB_DIR": str(work / "lab"), "MGC_IAC_STATE": str(work / "state.db")}
    return subprocess.run([sys.executable, str(HERE / "mocks_runner.py"), str(work / "registered.json")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def registered(stack_dir: Path | str, work: Path) -> dict[str, Any]:
    try:
        result = run_program(stack_dir, work)
    finally:
        stop_labs(work)  # the program found no lab in MGC_IAC_LAB_DIR and started one (and its hosts)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((work / "registered.json").read_text())


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path]]:
    work = tmp_path_factory.mktemp("program")
    # as documented: `pulumi config set mgc-iac:stack stacks/demo`, relative to Pulumi.yaml (read only here:
    # the state and the lab live under `work`)
    yield registered("stacks/demo", work), REPO / "stacks" / "demo"


def by_name(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in run["resources"]}


def provider_of(inputs: dict[str, Any]) -> Any:
    return dill.loads(base64.b64decode(inputs["__provider"]))


def test_the_program_declares_one_resource_per_desired_resource(demo_run) -> None:
    run, _ = demo_run
    assert sorted((r["type"], r["name"]) for r in run["resources"]) == [
        (TASK, "shop-wave-1/db-01/migration_task"), (TASK, "shop-wave-1/web-01/migration_task"),
        (NOTE, "shop-wave-1/notification"),
        (TARGET, "shop-wave-1/db-01/target_server"), (TARGET, "shop-wave-1/web-01/target_server")]
    assert all(r["custom"] and r["parent"].endswith("::pulumi:pulumi:Stack::mgc-iac-dev") for r in run["resources"])
    # the callback on the exports ran: every registration was answered, ids resolved
    assert run["exports"] == [{"mgc_iac_stack": "demo", "target_server_ids": {
        "shop-wave-1/web-01/target_server": "id-of-shop-wave-1/web-01/target_server",
        "shop-wave-1/db-01/target_server": "id-of-shop-wave-1/db-01/target_server"}}]


def test_target_inputs_are_the_engines(demo_run) -> None:
    run, stack_dir = demo_run
    resources = by_name(run)
    web, db = resources["shop-wave-1/web-01/target_server"], resources["shop-wave-1/db-01/target_server"]
    assert (web["inputs"]["name"], web["inputs"]["flavor"]) == ("web-01-hw", "s6.large.2")
    assert (db["inputs"]["name"], db["inputs"]["flavor"]) == ("db-01-hw", "s6.xlarge.2")
    for target in (web, db):
        assert target["inputs"]["encryption"] == {"enabled": True, "key_alias": "shop-disk-key"}
        assert target["inputs"]["tags"] == {"app": "shop", "owner": "platform"}
        assert isinstance(provider_of(target["inputs"]), TargetServerProvider)
    assert [d["size_gb"] for d in db["inputs"]["disks"]] == [40, 200]

    cloud = web["inputs"]["cloud"]
    assert cloud["provider"] == "lab" and cloud["url"].startswith("http://127.0.0.1:")
    graph = build_graph(load_stack(stack_dir).stack)
    attrs = graph.resources["shop-wave-1/web-01/target_server"].attrs
    engine = CloudSteps(cloud)._target_props("demo", "shop-wave-1/web-01/target_server", attrs, "linux",
                                             replacement_generation(attrs))
    assert {k: v for k, v in web["inputs"].items() if k != "__provider"} == _no_none(engine)


def _no_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _no_none(v) for k, v in value.items() if v is not None}
    return value


def test_each_task_depends_on_its_target_and_gets_its_id(demo_run) -> None:
    run, _ = demo_run
    resources = by_name(run)
    for server in ("web-01", "db-01"):
        target = resources[f"shop-wave-1/{server}/target_server"]
        task = resources[f"shop-wave-1/{server}/migration_task"]
        assert task["dependencies"] == [target["urn"]]
        assert task["propertyDependencies"]["target_server_id"] == [target["urn"]]
        assert task["inputs"]["target_server_id"] == target["id"]  # the target's id Output, resolved
        assert task["inputs"]["source"] == server and task["inputs"]["migration_port"] == 22
        assert isinstance(provider_of(task["inputs"]), MigrationTaskProvider)
        assert target["dependencies"] == []


def test_the_replacement_generation_changes_only_with_what_forces_a_replacement(demo_run) -> None:
    run, _ = demo_run
    inputs = by_name(run)["shop-wave-1/web-01/target_server"]["inputs"]
    attrs = {k: v for k, v in inputs.items() if k not in ("__provider", "generation")}
    assert replacement_generation(attrs) == inputs["generation"]
    assert replacement_generation({**attrs, "tags": {"owner": "someone-else"}}) == inputs["generation"]
    assert replacement_generation({**attrs, "encryption": {"enabled": False}}) != inputs["generation"]


def test_a_workflow_with_notifications_declares_its_topic(tmp_path: Path) -> None:
    stack_dir = tmp_path / "demo"
    shutil.copytree(REPO / "stacks" / "demo", stack_dir)
    path = stack_dir / "workflows.yaml"
    data = yaml.safe_load(path.read_text())
    urn = "urn:smn:cn-north-4:project:migration-events"
    data["workflows"][0]["advanced"]["notifications"] = {"topic_urn": urn, "on": ["failed"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))

    [note] = [r for r in registered(stack_dir, tmp_path)["resources"] if r["type"] == NOTE]
    assert note["name"] == "shop-wave-1/notification" and note["dependencies"] == []
    assert (note["inputs"]["topic_urn"], note["inputs"]["on"], note["inputs"]["language"]) == (urn, ["failed"],
                                                                                             "en-us")
    assert isinstance(provider_of(note["inputs"]), NotificationProvider)


def test_a_stack_that_breaks_a_rule_declares_nothing(tmp_path: Path) -> None:
    stack_dir = tmp_path / "demo"
    shutil.copytree(REPO / "stacks" / "demo", stack_dir)
    path = stack_dir / "workflows.yaml"
    path.write_text(path.read_text().replace("migration_port: 22", "migration_port: 80"))

    result = run_program(stack_dir, tmp_path)  # the lab it starts: stopped by tests/conftest.py's isolated_lab
    assert result.returncode != 0
    # the rule's own message, with the file and line, as `mgc-iac plan` shows it
    assert re.search(r"workflows\.yaml:\d+: workflows\[0\]\.migration_port: port 80 is not allowed", result.stderr)
    assert not (tmp_path / "registered.json").exists()
