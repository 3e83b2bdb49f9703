"""`mgc-iac state export STACK --format pulumi` after a real apply of the demo on the lab: the deployment
validates against Pulumi's own deployment schema, names every resource with its cloud id and dependencies,
and its recorded properties work under Pulumi's provider host (what `pulumi refresh` does after an import)."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import provider_pb2
from referencing import Registry, Resource

from mgc_iac.cli import cli

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TARGET = "pulumi-python:dynamic/mgc:TargetServer"
TASK = "pulumi-python:dynamic/mgc:MigrationTask"


def validator() -> jsonschema.Draft202012Validator:
    """Pulumi's deployments.json, its $refs resolved to the sibling schemas (copied in tests/pulumi/schemas)."""
    schemas = [json.loads(p.read_text()) for p in sorted((HERE / "schemas").glob("*.json"))]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    [root] = [s for s in schemas if s["$id"].endswith("/deployments.json")]
    return jsonschema.Draft202012Validator(root, registry=registry, format_checker=jsonschema.FormatChecker())


@pytest.fixture
def applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The demo stack applied through the CLI on a background lab, up to the BusinessValidation gates (the lab and
    its hosts: stopped by tests/conftest.py's isolated_lab)."""
    stack_dir = tmp_path / "demo"
    shutil.copytree(REPO / "stacks" / "demo", stack_dir)
    seed = yaml.safe_load((stack_dir / "lab-seed.yaml").read_text())
    seed["cloud"]["lab"].update(job_seconds=0, instant_transfers=True)
    (stack_dir / "lab-seed.yaml").write_text(yaml.safe_dump(seed))
    monkeypatch.setenv("MGC_IAC_LAB_DIR", str(tmp_path / "lab"))
    result = CliRunner().invoke(cli, ["apply", str(stack_dir), "--auto-approve"], catch_exceptions=False)
    assert result.exit_code == 3, result.output  # waiting at BusinessValidation: targets and tasks exist
    yield stack_dir


def export(stack_dir: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["state", "export", str(stack_dir), "--format", "pulumi", "--out", str(out),
                                      *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_the_export_of_an_applied_stack_is_a_valid_pulumi_deployment(applied: Path, tmp_path: Path) -> None:
    from mgc_iac.cloud import Cloud, CloudSettings
    from mgc_iac.lab import ensure_lab

    deployment = export(applied, tmp_path / "demo.json", "--pulumi-stack", "dev")
    validator().validate(deployment)

    manifest = deployment["deployment"]["manifest"]
    assert manifest["magic"] == hashlib.sha256(manifest["version"].encode()).hexdigest()
    resources = deployment["deployment"]["resources"]
    stack_urn, provider_urn = "urn:pulumi:dev::mgc-iac::pulumi:pulumi:Stack::mgc-iac-dev", \
        "urn:pulumi:dev::mgc-iac::pulumi:providers:pulumi-python::default"
    assert [r["urn"] for r in resources[:2]] == [stack_urn, provider_urn]
    provider_ref = f"{provider_urn}::{resources[1]['id']}"
    by_urn = {r["urn"]: r for r in resources[2:]}
    assert all(r["parent"] == stack_urn and r["provider"] == provider_ref for r in by_urn.values())
    assert not any("created" in r or "modified" in r for r in resources)

    cloud = Cloud(CloudSettings.for_lab(ensure_lab(applied.parent / "lab")))
    for server, target_name in (("web-01", "web-01-hw"), ("db-01", "db-01-hw")):
        target = by_urn[f"urn:pulumi:dev::mgc-iac::{TARGET}::shop-wave-1/{server}/target_server"]
        task = by_urn[f"urn:pulumi:dev::mgc-iac::{TASK}::shop-wave-1/{server}/migration_task"]
        [live] = cloud.ecs.find_servers(name=target_name)
        assert target["id"] == live.id == target["outputs"]["id"]
        assert target["inputs"]["encryption"] == {"enabled": True, "key_alias": "shop-disk-key"}
        assert target["outputs"]["kms_key_id"] == cloud.kms.describe_key("shop-disk-key").key_id
        assert cloud.sms.show_task(task["id"]).target_server_id == live.id
        assert task["inputs"]["target_server_id"] == live.id
        assert task["dependencies"] == [target["urn"]]
        assert task["propertyDependencies"] == {"target_server_id": [target["urn"]]}
        assert resources.index(target) < resources.index(task)  # dependency order
        assert target["inputs"]["__provider"] == target["outputs"]["__provider"]
    assert len(by_urn) == 5  # two targets, two tasks and the workflow's notification topic
    assert "urn:pulumi:dev::mgc-iac::pulumi-python:dynamic/mgc:Notification::shop-wave-1/notification" in by_urn
    assert resources[0]["outputs"]["target_server_ids"] == {
        a: by_urn[f"urn:pulumi:dev::mgc-iac::{TARGET}::{a}"]["id"]
        for a in ("shop-wave-1/web-01/target_server", "shop-wave-1/db-01/target_server")}


def test_pulumis_provider_host_reads_an_exported_resource(applied: Path, tmp_path: Path, host) -> None:
    """What `pulumi refresh` does after `pulumi stack import`: Read with the recorded outputs. The exported
    `__provider` must load in the host and the exported cloud config must reach the lab (by its directory)."""
    deployment = export(applied, tmp_path / "demo.json")
    target = next(r for r in deployment["deployment"]["resources"] if r["type"] == TARGET)
    properties = struct_pb2.Struct()
    properties.update(target["outputs"])
    reply = host.stub.Read(provider_pb2.ReadRequest(id=target["id"], urn=target["urn"], properties=properties))
    outputs = json_format.MessageToDict(reply.properties)
    assert reply.id == target["id"]
    assert outputs["status"] == "ACTIVE" and outputs["volume_ids"] == target["outputs"]["volume_ids"]


def test_the_schema_check_is_strict(applied: Path, tmp_path: Path) -> None:
    """The schema catches what Pulumi's import would refuse, so the passing export above means something."""
    deployment = export(applied, tmp_path / "demo.json")
    check = validator()
    check.validate(deployment)
    bad_time = copy.deepcopy(deployment)
    bad_time["deployment"]["resources"][2]["created"] = "2026-01-01T00:00:00Z"
    assert not check.is_valid(bad_time)
    no_manifest = copy.deepcopy(deployment)
    del no_manifest["deployment"]["manifest"]
    assert not check.is_valid(no_manifest)
    bad_dependency = copy.deepcopy(deployment)
    bad_dependency["deployment"]["resources"][-1]["dependencies"] = [1]
    assert not check.is_valid(bad_dependency)


def test_export_writes_to_stdout_without_out(applied: Path) -> None:
    result = CliRunner().invoke(cli, ["state", "export", str(applied)], catch_exceptions=False)
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["version"] == 3
    assert {r["urn"].rsplit("::", 1)[1] for r in body["deployment"]["resources"][2:]} == {
        "shop-wave-1/web-01/target_server", "shop-wave-1/db-01/target_server",
        "shop-wave-1/web-01/migration_task", "shop-wave-1/db-01/migration_task", "shop-wave-1/notification"}
    assert body["deployment"]["resources"][0]["urn"].startswith("urn:pulumi:demo::mgc-iac::")


def test_a_notification_and_a_cleared_task_export_as_mgc_iac_recorded_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeded records (no cloud): the notification's id is its address (NotificationProvider.create), and a
    task MigrationTaskClear deleted keeps `cleared: true`, so `pulumi up` after an import does not recreate it."""
    from mgc_iac.pulumi.export import ExportOptions, to_deployment
    from mgc_iac.state import ResourceRecord, Snapshot

    monkeypatch.delenv("MGC_IAC_DEFAULT_IMAGE_WINDOWS", raising=False)
    target = ResourceRecord("w/s1/target_server", "target_server", "w", "s1", {"name": "s1-hw", "flavor": "s6.large.2",
                            "encryption": {"enabled": False}, "disks": [{"device": "/dev/vda", "size_gb": 40}]},
                            {"id": "srv-1", "status": "ACTIVE", "generation": 1})
    task = ResourceRecord("w/s1/migration_task", "migration_task", "w", "s1",
                          {"target": "w/s1/target_server", "os": "windows", "migration_port": 22},
                          {"id": "task-1", "cleared": True})
    note = ResourceRecord("w/notification", "notification", "w", None, {"topic_urn": "urn:smn:x", "on": ["failed"]},
                          {"topic_name": "events"})
    snapshot = Snapshot("s", 7, {r.address: r for r in (task, note, target)}, {})
    body = to_deployment(snapshot, ExportOptions(cloud={"provider": "huaweicloud", "region": "cn-north-4"},
                                                 os_by_server={"s1": "windows"}, time="2026-01-01T00:00:00Z"))
    validator().validate(body)
    resources = body["deployment"]["resources"]
    assert [r["urn"].rsplit("::", 1)[1] for r in resources] == [
        "mgc-iac-s", "default", "w/notification", "w/s1/target_server", "w/s1/migration_task"]
    note_out, target_out, task_out = resources[2:]
    assert note_out["id"] == "w/notification" and note_out["outputs"]["topic_name"] == "events"
    assert target_out["inputs"]["os"] == "windows" and target_out["inputs"]["generation"] == 1
    assert "image_default" not in target_out["inputs"]  # none on Huawei Cloud unless MGC_IAC_DEFAULT_IMAGE_*
    assert task_out["outputs"]["cleared"] is True and task_out["inputs"]["target_server_id"] == "srv-1"
    assert task_out["dependencies"] == [target_out["urn"]]
