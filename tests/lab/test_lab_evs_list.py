"""The lab's EVS ListVolumes (GET /v2/{project_id}/cloudvolumes/detail), as the SDK reads it: every volume,
attached or left over, with its encryption; paged by offset and limit."""

from __future__ import annotations

from huaweicloudsdkevs.v2 import ListVolumesRequest

from mgc_iac.cloud import Cloud, ServerRequest, VolumeRequest
from mgc_iac.lab.testing import RunningLab


def _server(cloud: Cloud, lab: RunningLab, name: str, key: str, data_disks: int) -> str:
    vpc = cloud.vpc.find_vpc("vpc-shop")
    request = ServerRequest(name=name, image_id=lab.store.list("image")[0]["id"], flavor="s6.large.2", vpc_id=vpc.id,
                            subnet_id=cloud.vpc.find_subnet("subnet-shop", vpc.id).id,
                            root_volume=VolumeRequest(40, kms_key_id=key),
                            data_volumes=tuple(VolumeRequest(100, kms_key_id=key) for _ in range(data_disks)),
                            security_group_ids=(cloud.vpc.find_security_group("sg-shop").id,))
    return cloud.ecs.create_server(request, f"token-{name}")


def test_list_volumes_shows_attached_and_left_over_disks(cloud: Cloud, lab: RunningLab) -> None:
    key = cloud.kms.describe_key("shop-disk-key").key_id
    web = _server(cloud, lab, "web-01-hw", key, 0)
    db = _server(cloud, lab, "db-01-hw", key, 1)
    volumes = cloud.evs.list_volumes()
    assert sorted((v.size_gb, v.server_ids) for v in volumes) == sorted([(40, (db,)), (40, (web,)), (100, (db,))])
    assert all(v.encrypted and v.kms_key_id == key for v in volumes)
    # the answer fits the SDK's own model, and pages by offset
    page = cloud.evs.sdk.list_volumes(ListVolumesRequest(limit=2, offset=1))
    assert page.count == 3 and len(page.volumes) == 2
    assert {v.id for v in page.volumes} < {v.id for v in volumes}
    cloud.ecs.delete_server(db, delete_volumes=False)  # what a crash between two calls can leave
    left = [v for v in cloud.evs.list_volumes() if not v.server_ids]
    assert len(left) == 2 and {v.status for v in left} == {"available"}
