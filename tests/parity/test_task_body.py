"""The create_task body the provider sends for an existing target (what the SMS API reference requires):
target_server.disks mapped one to one from the source's disks onto the target's volumes, and migration_ip the
target's EIP on a public network, its private IP on a private one."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgc_iac.cloud import Cloud, ServerRequest, SourceFacts, VolumeRequest
from mgc_iac.errors import CloudError
from mgc_iac.lab.testing import running_lab
from mgc_iac.providers.migration_task import find_source, migration_ip, target_disks, task_request

GIB = 1024 ** 3


def test_the_body_maps_disks_and_picks_the_migration_ip_by_network(tmp_path: Path) -> None:
    with running_lab(tmp_path / "lab") as lab:
        cloud = Cloud(lab.settings)
        vpc = cloud.vpc.find_vpc("vpc-shop")
        subnet = cloud.vpc.find_subnet("subnet-shop", vpc.id)
        target = cloud.ecs.show_server(cloud.ecs.create_server(ServerRequest(
            name="db-01-hw", image_id="lab-image-linux", flavor="s6.large.2", vpc_id=vpc.id, subnet_id=subnet.id,
            root_volume=VolumeRequest(40), data_volumes=(VolumeRequest(100),), eip_bandwidth_mbps=5), "t1"))
        cloud.sms.register_source(SourceFacts(
            name="db-01", ip="192.168.1.11", os_type="LINUX", macs=("fa:16:3e:00:00:02",),
            disks=({"name": "/dev/vda", "size": 40 * GIB, "used_size": 9 * GIB, "device_use": "BOOT"},
                   {"name": "/dev/vdb", "size": 100 * GIB, "used_size": 60 * GIB, "device_use": "NORMAL"})))
        source = find_source(cloud, "FA:16:3E:00:00:02", "db-01")       # by name, then its MAC in show_server
        disks = target_disks(cloud, source, target)
        assert [(d["name"], d["disk_id"], d["size"], d["used_size"], d["device_use"]) for d in disks] == [
            ("/dev/vda", target.volume_ids[0], 40 * GIB, 9 * GIB, "BOOT"),
            ("/dev/vdb", target.volume_ids[1], 100 * GIB, 60 * GIB, "NORMAL")]
        assert migration_ip(target, public=True) == target.public_ips[0]
        assert migration_ip(target, public=False) == target.private_ips[0]
        private = task_request(cloud, "db-01-task", source, target, "db-01-hw", "linux", "MIGRATE_FILE",
                               public=False, disks=disks)
        body = private.to_body()
        assert (body["exist_server"], body["use_public_ip"], body["migration_ip"]) == (
            True, False, target.private_ips[0])
        task = cloud.sms.show_task(cloud.sms.create_task(private))       # the lab accepts what the API requires
        assert task.target_server_id == target.id

        small = cloud.ecs.show_server(cloud.ecs.create_server(ServerRequest(
            name="db-02-hw", image_id="lab-image-linux", flavor="s6.large.2", vpc_id=vpc.id, subnet_id=subnet.id,
            root_volume=VolumeRequest(40)), "t2"))
        with pytest.raises(CloudError, match="has 1 disks for the 2 disks"):
            target_disks(cloud, source, small)
        with pytest.raises(CloudError, match="has no EIP"):
            migration_ip(small, public=True)
