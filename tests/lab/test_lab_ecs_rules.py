"""The lab's ECS and IAM refuse what Huawei refuses: tags beyond ECS's limits (SDK PostPaidServerTag /
BatchAddServerTag docstrings, at most 10 per server), an encrypted volume without the EVSAccessKMS agency (the
create is accepted and its job fails later, asynchronously), SM4 keys outside Chinese-mainland regions; and the
client's IAM check finds the agency as IAM serves it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mgc_iac.cloud import Cloud, ServerRequest, VolumeRequest
from mgc_iac.errors import CloudError
from mgc_iac.lab.testing import DEMO_SEED, running_lab


def _seed(tmp_path: Path, **cloud: object) -> Path:
    data = yaml.safe_load(DEMO_SEED.read_text())
    data["cloud"].update(cloud)
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _request(cloud: Cloud, name: str, key_id: str | None = None, tags: dict[str, str] | None = None) -> ServerRequest:
    vpc = cloud.vpc.find_vpc("vpc-shop")
    return ServerRequest(name=name, image_id="lab-image-linux", flavor="s6.large.2", vpc_id=vpc.id,
                         subnet_id=cloud.vpc.find_subnet("subnet-shop", vpc.id).id,
                         root_volume=VolumeRequest(40, kms_key_id=key_id), tags=tags or {})


def test_tags_beyond_ecs_limits_are_refused_at_create_and_after(tmp_path: Path) -> None:
    with running_lab(tmp_path / "lab") as lab:
        cloud = Cloud(lab.settings)
        for tags, message in (({f"k{n}": "v" for n in range(11)}, "at most 10"), ({"a=b": "c"}, "tag key"),
                              ({"k" * 37: "v"}, "1-36"), ({"owner": "v" * 44}, "at most 43"),
                              ({"owner": "a|b"}, "tag value")):
            with pytest.raises(CloudError, match=message) as info:
                cloud.ecs.create_server(_request(cloud, "tagged", tags=tags), f"t-{len(tags)}-{message}")
            assert (info.value.status, info.value.code) == (400, "Ecs.0005")
        server = cloud.ecs.create_server(_request(cloud, "ten", tags={f"k{n}": "v" for n in range(10)}), "ten")
        assert len(cloud.ecs.show_server(server).tags) == 10
        with pytest.raises(CloudError, match="at most 10"):
            cloud.ecs.add_tags(server, {"k10": "v"})              # ECS allows 10 tags: none can be added later
        other = cloud.ecs.create_server(_request(cloud, "colon", tags={"cost:center": "a b"}), "colon")
        with pytest.raises(CloudError, match="letters, digits"):
            cloud.ecs.add_tags(other, {"cost:center": "c d"})     # BatchAddServerTag's narrower character set
        cloud.ecs.add_tags(other, {"cost-center": "c.d"})


def test_an_encrypted_server_without_the_evs_agency_fails_in_its_job(tmp_path: Path) -> None:
    with running_lab(tmp_path / "lab", seed=_seed(tmp_path, agencies=[])) as lab:
        cloud = Cloud(lab.settings)
        key = cloud.kms.describe_key("shop-disk-key")
        assert cloud.iam.agency("EVSAccessKMS", lab.endpoint.project_id) is None
        job = cloud.ecs.submit_server(_request(cloud, "enc", key.key_id), "enc")   # accepted ...
        with pytest.raises(CloudError, match="EVSAccessKMS agency is missing"):
            cloud.ecs.wait_job(job.id)                                          # ... and failed later
        assert cloud.ecs.find_servers(name="enc") == []
        assert cloud.ecs.create_server(_request(cloud, "plain"), "plain")     # unencrypted needs no agency


def test_the_iam_check_finds_the_agency_in_the_project_or_in_all_projects(tmp_path: Path) -> None:
    seed = _seed(tmp_path, agencies=[{"name": "EVSAccessKMS", "inherited": True}, {"name": "other"}])
    with running_lab(tmp_path / "lab", seed=seed) as lab:
        cloud = Cloud(lab.settings)
        grant = cloud.iam.agency("EVSAccessKMS", lab.endpoint.project_id)
        assert grant is not None and grant.granted and grant.inherited_roles and not grant.project_roles
        key = cloud.kms.describe_key("shop-disk-key")
        assert cloud.ecs.create_server(_request(cloud, "enc", key.key_id), "enc")
    with running_lab(tmp_path / "lab2") as lab:                       # the default seed: granted in the project
        grant = Cloud(lab.settings).iam.agency("EVSAccessKMS", lab.endpoint.project_id)
        assert grant is not None and grant.project_roles == ("KMS Administrator",)
        assert Cloud(lab.settings).iam.agency("EVSAccessKMS", "0" * 32).granted is False   # another project


@pytest.mark.parametrize(("region", "accepted"), [("cn-north-4", True), ("ap-southeast-1", False)])
def test_sm4_keys_encrypt_only_in_chinese_mainland_regions(tmp_path: Path, region: str, accepted: bool) -> None:
    seed = _seed(tmp_path, region=region, kms_keys=[{"alias": "sm4-key", "spec": "SM4", "state": "enabled"}])
    with running_lab(tmp_path / "lab", seed=seed) as lab:
        cloud = Cloud(lab.settings)
        key = cloud.kms.describe_key("sm4-key")
        if accepted:
            assert cloud.ecs.create_server(_request(cloud, "sm4", key.key_id), "sm4")
        else:
            with pytest.raises(CloudError, match="AES_256 to encrypt a volume in ap-southeast-1"):
                cloud.ecs.create_server(_request(cloud, "sm4", key.key_id), "sm4")
