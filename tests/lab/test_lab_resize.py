"""The lab's ECS ResizeServer (POST /v1.1/{project_id}/cloudservers/{server_id}/resize), through the SDK client."""

from __future__ import annotations

import pytest

from mgc_iac.cloud import Cloud
from mgc_iac.errors import CloudConflictError, CloudError, CloudNotFoundError
from mgc_iac.lab.testing import RunningLab

from .test_lab_ecs import _request


def _flavors(lab: RunningLab) -> list[str]:
    return [f["id"] for f in lab.store.list("flavor")]


def test_resize_a_running_server_in_place(cloud: Cloud, lab: RunningLab) -> None:
    server_id = cloud.ecs.create_server(_request(cloud, lab, name="resize-hw"), "resize-1")
    other = next(f for f in _flavors(lab) if f != "s6.large.2")
    cloud.ecs.resize(server_id, other)  # mode withStopServer: ECS stops, resizes and starts it
    server = cloud.ecs.show_server(server_id)
    assert server.flavor == other and server.status == "ACTIVE"


def test_resize_refusals_are_huawei_errors(cloud: Cloud, lab: RunningLab) -> None:
    server_id = cloud.ecs.create_server(_request(cloud, lab, name="resize-hw"), "resize-2")
    with pytest.raises(CloudError, match="flavor s9.none does not exist"):
        cloud.ecs.resize(server_id, "s9.none")
    with pytest.raises(CloudNotFoundError):
        cloud.ecs.resize("0" * 36, "s6.large.2")
    from huaweicloudsdkecs.v2 import ResizeServerRequest

    with pytest.raises(CloudConflictError, match="stop it first"):  # running, and no mode withStopServer
        cloud.ecs.call("resize_server", ResizeServerRequest(server_id=server_id,
                                                            body={"resize": {"flavorRef": "s6.large.2"}}))
    assert cloud.ecs.show_server(server_id).flavor == "s6.large.2"
