"""A stack.py built with the public Python API gives the same spec, digest and plan as its YAML form."""

from __future__ import annotations

from pathlib import Path

from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.planfile import plan_to_dict

DEMO_PY = '''
from mgc_iac import (AdvancedSpec, Disk, EncryptionSpec, Metadata, MigrationPlan, ServerOverride, Source, Stack,
                     TargetSpec, VerificationPolicy, Workflow, WorkflowSource, CloudConfig, ApprovalPolicy,
                     Notifications)

def source(name, ip, mac, cpus, memory_mb, disks):
    return Source(name=name, ip=ip, mac=mac, os="linux", os_version="debian-12", cpus=cpus, memory_mb=memory_mb,
                  disks=[Disk(device=d, size_gb=s, used_gb=u) for d, s, u in disks], application="shop")

stack = Stack(
    metadata=Metadata(name="demo", project="shop-migration",
                      description="Move the shop web and database servers to Huawei Cloud (embedded lab)."),
    cloud=CloudConfig(provider="lab", region="cn-north-4"),
    approvals=ApprovalPolicy(required_approvers=1, allow_plan_author=True),
    sources=[
        source("web-01", "192.168.1.10", "fa:16:3e:00:00:01", 2, 4096, [("/dev/vda", 40, 12)]),
        source("db-01", "192.168.1.11", "fa:16:3e:00:00:02", 4, 8192, [("/dev/vda", 40, 10), ("/dev/vdb", 200, 60)]),
    ],
    migration_plans=[MigrationPlan(name="wave-1", servers=["web-01", "db-01"])],
    workflows=[Workflow(
        name="shop-wave-1",
        description="Web and database tier of the shop.",
        source=WorkflowSource(application="shop"),
        target=TargetSpec(region="cn-north-4", project="cn-north-4", vpc="vpc-shop", subnet="subnet-shop",
                          security_group="sg-shop", flavor="s6.large.2"),
        encryption=EncryptionSpec(enabled=True, key_alias="shop-disk-key"),
        advanced=AdvancedSpec(bandwidth_limit_mbps=200, tags={"owner": "platform", "app": "shop"},
                              poll_interval="2s", stall_timeout="10m",
                              notifications=Notifications(
                                  topic_urn="urn:smn:cn-north-4:0764a0ad095e5714b4661b894da6c027:migration-events",
                                  language="en-us", on=["succeeded", "failed", "manual_checkpoint"])),
        verification_policy=VerificationPolicy(hash=True, include_paths=["/srv", "/data"],
                                               exclude_paths=["/data/tmp"]),
        servers={"web-01": ServerOverride(target_name="web-01-hw"),
                 "db-01": ServerOverride(target_name="db-01-hw", flavor="s6.xlarge.2")},
    )],
)
'''


def test_python_and_yaml_forms_give_the_same_plan(demo_stack: Path, tmp_path: Path):
    py_dir = tmp_path / "demo-py"
    py_dir.mkdir()
    (py_dir / "stack.py").write_text(DEMO_PY)
    from_yaml = plan_stack(demo_stack)
    from_python = plan_stack(py_dir)
    assert from_python.checked.loaded.digest == from_yaml.checked.loaded.digest
    yaml_doc, py_doc = plan_to_dict(from_yaml.plan), plan_to_dict(from_python.plan)
    assert py_doc["digest"] == yaml_doc["digest"]
    assert py_doc["summary"]["create"] == 5  # two targets, two tasks, the notification topic
