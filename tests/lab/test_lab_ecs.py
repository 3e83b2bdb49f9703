"""The lab's ECS/EVS/KMS: jobs that take time, idempotent creates, encryption checks, fixed IPs, Huawei errors."""

from __future__ import annotations

import time

import pytest
import requests

from mgc_iac.cloud import Cloud, LabControl, ServerRequest, VolumeRequest
from mgc_iac.errors import CloudConflictError, CloudError, CloudNotFoundError
from mgc_iac.lab.signature import sign_headers
from mgc_iac.lab.testing import RunningLab


def _request(cloud: Cloud, lab: RunningLab, name: str = "web-01-hw", key: str | None = None,
             ip: str | None = None) -> ServerRequest:
    vpc = cloud.vpc.find_vpc("vpc-shop")
    return ServerRequest(name=name, image_id=lab.store.list("image")[0]["id"], flavor="s6.large.2", vpc_id=vpc.id,
                         subnet_id=cloud.vpc.find_subnet("subnet-shop", vpc.id).id,
                         root_volume=VolumeRequest(40, kms_key_id=key), ip_address=ip,
                         security_group_ids=(cloud.vpc.find_security_group("sg-shop").id,))


def test_jobs_run_then_succeed_and_the_same_token_returns_the_same_job(cloud: Cloud, lab: RunningLab) -> None:
    LabControl(lab.settings).update_settings(job_seconds=0.3)
    request = _request(cloud, lab)
    job = cloud.ecs.submit_server(request, "plan-1/web-01/target")
    assert cloud.ecs.show_job(job.id).status == "RUNNING"
    assert cloud.ecs.show_server(job.server_id).status == "BUILD"
    again = cloud.ecs.submit_server(request, "plan-1/web-01/target")
    assert (again.id, again.server_id) == (job.id, job.server_id)
    time.sleep(0.35)
    assert cloud.ecs.show_job(job.id).status == "SUCCESS"
    assert cloud.ecs.show_server(job.server_id).status == "ACTIVE"
    assert cloud.ecs.create_server(request, "plan-1/web-01/target") == job.server_id
    assert len(cloud.ecs.find_servers(name="web-01-hw")) == 1
    assert cloud.ecs.create_server(request, "another-token") != job.server_id   # a new token: a new server


def test_encryption_needs_an_enabled_aes_key(cloud: Cloud, lab: RunningLab) -> None:
    good = cloud.kms.describe_key("shop-disk-key")
    server = cloud.ecs.show_server(cloud.ecs.create_server(_request(cloud, lab, key=good.key_id), "t1"))
    volume = cloud.evs.show_volume(server.volume_ids[0])
    assert volume.encrypted and volume.kms_key_id == good.key_id and volume.bootable
    for alias in ("old-key", "rsa-key"):
        key = cloud.kms.describe_key(alias)
        with pytest.raises(CloudError, match="enabled and AES_256") as info:
            cloud.ecs.create_server(_request(cloud, lab, name=f"x-{alias}", key=key.key_id), f"t-{alias}")
        assert info.value.status == 400


def test_fixed_ip_must_be_free_and_inside_the_subnet(cloud: Cloud, lab: RunningLab) -> None:
    server = cloud.ecs.show_server(cloud.ecs.create_server(_request(cloud, lab, ip="192.168.1.10"), "a"))
    assert server.private_ips == ("192.168.1.10",)
    with pytest.raises(CloudConflictError):
        cloud.ecs.create_server(_request(cloud, lab, name="other", ip="192.168.1.10"), "b")
    with pytest.raises(CloudError, match="not inside subnet"):
        cloud.ecs.create_server(_request(cloud, lab, name="other", ip="10.0.0.5"), "c")
    cloud.ecs.delete_server(server.id)                                   # frees the address
    again = cloud.ecs.create_server(_request(cloud, lab, name="web-01-hw", ip="192.168.1.10"), "d")
    assert cloud.ecs.show_server(again).private_ips == ("192.168.1.10",)


def test_state_errors_and_unknown_resources(cloud: Cloud, lab: RunningLab) -> None:
    LabControl(lab.settings).update_settings(job_seconds=30)
    job = cloud.ecs.submit_server(_request(cloud, lab), "slow")
    with pytest.raises(CloudConflictError, match="BUILD"):
        cloud.ecs.start(job.server_id)
    with pytest.raises(CloudNotFoundError) as info:
        cloud.ecs.show_server("00000000-0000-0000-0000-000000000000")
    assert (info.value.service, info.value.operation, info.value.status) == ("ecs", "show_server", 404)
    with pytest.raises(CloudNotFoundError):
        cloud.kms.describe_key("no-such-alias")
    with pytest.raises(CloudNotFoundError):
        cloud.evs.show_volume("nope")


def _signed(lab: RunningLab, method: str, path: str, body: bytes, project: str | None = "") -> requests.Response:
    host = lab.endpoint.url.removeprefix("http://")
    sent = {"Host": host, "Content-Type": "application/json"}
    if project is not None:
        sent["X-Project-Id"] = project or lab.endpoint.project_id
    headers = sign_headers(access_key=lab.endpoint.ak, secret_key=lab.endpoint.sk, method=method, raw_path=path,
                           raw_query="", body=body, headers=sent)
    return requests.request(method, lab.endpoint.url + path, data=body, headers=headers, timeout=5)


def test_error_bodies_are_huawei_shaped(lab: RunningLab) -> None:
    project = lab.endpoint.project_id
    cases = [("GET", "/v3/nothing/here", b"", 404, "APIGW.0101"),
             ("POST", f"/v1/{project}/cloudservers", b"{not json", 400, "Common.0400"),
             ("POST", f"/v1/{project}/cloudservers", b'{"server": {"name": "x"}}', 400, "Ecs.0005"),
             ("GET", "/v1/another-project/cloudservers/detail", b"", 403, "APIGW.0302"),
             ("POST", "/v3/tasks/none/action", b'{"operation": "start"}', 404, "SMS.2252")]
    for method, path, body, status, code in cases:
        response = _signed(lab, method, path, body)
        assert response.status_code == status, path
        assert response.json()["error_code"] == code and response.json()["error_msg"]
        assert len(response.headers["X-Request-Id"]) == 32


def test_the_gateway_checks_the_project_header_and_the_body_size(lab: RunningLab) -> None:
    """As Huawei's API gateway: X-Project-Id names the path's project and is required on SMS (whose paths carry
    none); a body over 12 MB is refused with 413 before anything acts on it."""
    project = lab.endpoint.project_id
    other = "0" * 32
    assert _signed(lab, "GET", f"/v1/{project}/cloudservers/detail", b"", project=other).status_code == 403
    assert _signed(lab, "GET", f"/v1/{project}/cloudservers/detail", b"").status_code == 200
    missing = _signed(lab, "GET", "/v3/sources", b"", project=None)
    assert (missing.status_code, missing.json()["error_code"]) == (401, "APIGW.0301")
    assert _signed(lab, "GET", "/v3/sources", b"", project=other).status_code == 403
    assert _signed(lab, "GET", "/v3/sources", b"").status_code == 200
    big = b'{"name": "' + b"x" * (12 * 1024 * 1024 + 1) + b'"}'
    too_big = _signed(lab, "POST", "/v3/sources", big)
    assert (too_big.status_code, too_big.json()["error_code"]) == (413, "APIGW.0201")
    assert _signed(lab, "GET", "/v3/sources", b"").json()["count"] == 0
