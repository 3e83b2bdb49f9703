"""The create_task body the provider sends for an existing target, against the lab's CreateTask rules (which
refuse what Huawei refuses): SMS's recommended disks (init_target_server) WITH their physical volumes, sizes in
bytes, paired with the target's volumes by bootIndex (the lab lists the data volumes first, so pairing by list
order fails), a valid task name for every server name the stack accepts, and migration_ip the target's EIP on a
public network, its private IP on a private one."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgc_iac.cloud import Cloud, LabControl, ServerRequest, SourceFacts, VolumeRequest, partitioned_disk
from mgc_iac.errors import CloudError
from mgc_iac.lab.testing import running_lab
from mgc_iac.providers.migration_task import TASK_NAME, find_source, migration_ip, target_disks, task_name, task_request
from mgc_iac.stack.models import NAME_PATTERN

GIB = 1024 ** 3


def test_the_body_pairs_disks_by_boot_index_with_their_physical_volumes(tmp_path: Path) -> None:
    with running_lab(tmp_path / "lab") as lab:
        cloud = Cloud(lab.settings)
        vpc = cloud.vpc.find_vpc("vpc-shop")
        subnet = cloud.vpc.find_subnet("subnet-shop", vpc.id)
        target = cloud.ecs.show_server(cloud.ecs.create_server(ServerRequest(
            name="db-01-hw", image_id="lab-image-linux", flavor="s6.large.2", vpc_id=vpc.id, subnet_id=subnet.id,
            root_volume=VolumeRequest(40), data_volumes=(VolumeRequest(100), VolumeRequest(50)),
            eip_bandwidth_mbps=5), "t1"))
        assert not target.volumes[0].boot                  # ECS's order is not documented: data volumes first here
        cloud.sms.register_source(SourceFacts(
            name="db-01", ip="192.168.1.11", os_type="LINUX", macs=("fa:16:3e:00:00:02",),
            disks=(partitioned_disk("/dev/vda", 40 * GIB, 9 * GIB, boot=True),
                   partitioned_disk("/dev/vdb", 100 * GIB, 60 * GIB), partitioned_disk("/dev/vdc", 50 * GIB, 1))))
        source = find_source(cloud, "FA:16:3E:00:00:02", "db-01")       # by name, then its MAC in show_server
        disks = target_disks(source, target)
        by_device = {v.device: v.id for v in target.volumes}
        assert [(d["name"], d["disk_id"], d["size"], d["used_size"], d["device_use"]) for d in disks] == [
            ("/dev/vda", next(v.id for v in target.volumes if v.boot), 40 * GIB, 9 * GIB, "BOOT"),
            ("/dev/vdb", by_device["/dev/vdb"], 100 * GIB, 60 * GIB, "NORMAL"),
            ("/dev/vdc", by_device["/dev/vdc"], 50 * GIB, 1, "NORMAL")]
        assert [[(v["name"], v["mount_point"], v["size"]) for v in d["physical_volumes"]] for d in disks] == [
            [("/dev/vda1", "/", 40 * GIB)], [("/dev/vdb1", "/datab", 100 * GIB)], [("/dev/vdc1", "/datac", 50 * GIB)]]
        assert migration_ip(target, public=True) == target.public_ips[0]
        assert migration_ip(target, public=False) == target.private_ips[0]
        private = task_request(cloud, "db-01-task", source, target, "db-01-hw", "linux", "MIGRATE_FILE",
                               public=False, disks=disks)
        body = private.to_body()
        assert (body["exist_server"], body["use_public_ip"], body["migration_ip"]) == (
            True, False, target.private_ips[0])
        assert body["target_server"]["volume_groups"] == []      # Linux: required, [] when there are none
        task = cloud.sms.show_task(cloud.sms.create_task(private))       # the lab accepts what the API requires
        assert task.target_server_id == target.id

        # what a client pairing by list order would send: the lab refuses it, as SMS's disk check does
        in_order = tuple({**d, "disk_id": v} for d, v in zip(disks, target.volume_ids, strict=True))
        LabControl(lab.settings).update_settings(transition_seconds=0)     # the delete finishes at once
        cloud.sms.delete_task(task.id)
        with pytest.raises(CloudError, match="bootIndex") as info:
            cloud.sms.create_task(task_request(cloud, "db-01-task", source, target, "db-01-hw", "linux",
                                               "MIGRATE_FILE", public=False, disks=in_order))
        assert info.value.code == "SMS.0515"

        small = cloud.ecs.show_server(cloud.ecs.create_server(ServerRequest(
            name="db-02-hw", image_id="lab-image-linux", flavor="s6.large.2", vpc_id=vpc.id, subnet_id=subnet.id,
            root_volume=VolumeRequest(40)), "t2"))
        with pytest.raises(CloudError, match="has 1 disks for the 3 disks"):
            target_disks(source, small)
        with pytest.raises(CloudError, match="has no EIP"):
            migration_ip(small, public=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(NAME_PATTERN, fullmatch=True), st.from_regex(NAME_PATTERN, fullmatch=True),
       st.from_regex(NAME_PATTERN, fullmatch=True))
def test_every_server_name_the_stack_accepts_gets_a_valid_stable_task_name(stack: str, workflow: str,
                                                                            server: str) -> None:
    props = {"stack": stack, "address": f"{workflow}/{server}/migration_task"}
    name = task_name(props)
    assert TASK_NAME.match(name) and name == task_name(dict(props))
    assert task_name({**props, "stack": stack + "x"}) != name              # unique per stack, workflow and server
    assert task_name({**props, "address": f"{workflow}x/{server}/migration_task"}) != name


def test_the_lab_accepts_the_generated_names_of_dotted_and_long_servers(tmp_path: Path) -> None:
    from mgc_iac.lab.services.sms_create import NAME

    for server in ("web.shop.local", "a" * 64, "db-01", "x.y_z-1"):
        name = task_name({"stack": "demo", "address": f"wave-1/{server}/migration_task"})
        assert NAME.match(name), name                                   # the lab's (Huawei's) rule
        assert "." not in name and len(name) <= 64
