"""Every client call of the layer against the lab, through the official SDK."""

from __future__ import annotations

import threading

import pytest

from mgc_iac.cloud import Cloud, LabControl, SecurityGroupRule, ServerRequest, SpeedLimit, VolumeRequest
from mgc_iac.errors import CloudConflictError
from mgc_iac.lab.seed import stable_id
from mgc_iac.lab.testing import RunningLab


def test_vpc_lookups_by_name_and_id_and_rules(cloud: Cloud) -> None:
    vpc = cloud.vpc.find_vpc("vpc-shop")
    assert vpc.id == stable_id("cn-north-4", "vpc", "vpc-shop") and vpc.cidr == "192.168.0.0/16"
    assert cloud.vpc.find_vpc(vpc.id) == vpc
    subnet = cloud.vpc.find_subnet("subnet-shop", vpc.id)
    assert (subnet.cidr, subnet.vpc_id, subnet.gateway_ip) == ("192.168.1.0/24", vpc.id, "192.168.1.1")
    assert cloud.vpc.find_subnet(subnet.id) == subnet
    windows = cloud.vpc.find_security_group("sg-windows")
    assert cloud.vpc.find_security_group(windows.id) == windows
    ingress = [r for r in cloud.vpc.security_group_rules(windows.id) if r.direction == "ingress"]
    assert all(any(r.covers(p) for r in ingress) for p in (22, 8899, 8900))
    closed = cloud.vpc.security_group_rules(cloud.vpc.find_security_group("sg-closed").id)
    assert not any(r.covers(22) for r in closed if r.direction == "ingress")
    assert SecurityGroupRule("x", "ingress", "udp", "22", "allow", 1).covers(22) is False


def test_kms_keys_by_alias_and_id(cloud: Cloud) -> None:
    key = cloud.kms.describe_key("shop-disk-key")
    assert (key.spec, key.state, key.enabled) == ("AES_256", "2", True)
    assert cloud.kms.describe_key(key.key_id) == key
    assert not cloud.kms.describe_key("old-key").enabled
    assert cloud.kms.describe_key("rsa-key").spec == "RSA_2048"
    assert {k.alias for k in cloud.kms.list_keys()} == {"shop-disk-key", "old-key", "rsa-key", "evs/default"}


def test_smn_topics_and_publish(cloud: Cloud, lab: RunningLab) -> None:
    [topic] = cloud.smn.list_topics()
    assert topic.name == "migration-events" and topic.urn.startswith("urn:smn:cn-north-4:")
    assert cloud.smn.show_topic(topic.urn) == topic
    message_id = cloud.smn.publish(topic.urn, "web-01 waits for Cutover", "approve shop-wave-1/web-01/Cutover")
    [message] = LabControl(lab.settings).messages()
    assert message["message_id"] == message_id and message["subject"] == "web-01 waits for Cutover"


def test_ecs_server_lifecycle(cloud: Cloud, lab: RunningLab) -> None:
    vpc = cloud.vpc.find_vpc("vpc-shop")
    key = cloud.kms.describe_key("evs/default")
    request = ServerRequest(
        name="db-01-hw", image_id=lab.store.list("image")[0]["id"], flavor="s6.xlarge.2", vpc_id=vpc.id,
        subnet_id=cloud.vpc.find_subnet("subnet-shop", vpc.id).id, root_volume=VolumeRequest(40, kms_key_id=key.key_id),
        data_volumes=(VolumeRequest(200, "SAS", kms_key_id=key.key_id),), eip_bandwidth_mbps=5,
        security_group_ids=(cloud.vpc.find_security_group("sg-shop").id,), tags={"owner": "platform"},
        enterprise_project_id="ep-1")
    server_id = cloud.ecs.create_server(request, "plan/db-01")
    server = cloud.ecs.show_server(server_id)
    assert (server.status, server.flavor, server.enterprise_project_id) == ("ACTIVE", "s6.xlarge.2", "ep-1")
    assert len(server.public_ips) == 1 and server.private_ips[0].startswith("192.168.1.")
    data = cloud.evs.show_volume(next(v.id for v in server.volumes if not v.boot))   # bootIndex "-1"
    assert (data.size_gb, data.encrypted, data.kms_key_id, data.server_ids) == (200, True, key.key_id, (server_id,))
    cloud.ecs.stop(server_id)
    assert cloud.ecs.show_server(server_id).status == "SHUTOFF"
    cloud.ecs.start(server_id)
    cloud.ecs.add_tags(server_id, {"wave": "1"})
    assert [s.id for s in cloud.ecs.find_servers(tags={"owner": "platform", "wave": "1"})] == [server_id]
    assert cloud.ecs.find_servers(name="db-01") == []                     # exact names only
    cloud.ecs.delete_server(server_id)
    assert cloud.ecs.find_servers(name="db-01-hw") == []


def test_sms_speed_limits_configuration_and_listing(cloud: Cloud, lab: RunningLab) -> None:
    from mgc_iac.lab.testing import lab_task

    source, task, _ = lab_task(cloud)
    shown = cloud.sms.show_source(source)
    assert (shown.macs, shown.connected, shown.state, shown.current_task_id) == (("fa:16:3e:00:00:01",), True,
                                                                                "waiting", task)
    assert [d.name for d in shown.disks] == ["/dev/vda", "/dev/vdb"]
    assert [t.id for t in cloud.sms.list_tasks(source_id=source)] == [task]
    assert cloud.sms.list_tasks(state="RUNNING") == []
    limits = [SpeedLimit("08:00", "18:00", 100), SpeedLimit("18:00", "23:59", 500, 0.8)]
    cloud.sms.set_speed_limit(task, limits)
    assert cloud.sms.speed_limits(task) == limits
    cloud.sms.set_configuration(task, {"DYNAMIC_PORT": "22", "CONSISTENCY_DIR": "/data"})
    cloud.sms.set_configuration(task, {"DYNAMIC_PORT": "10022"})
    assert cloud.sms.configuration(task) == {"DYNAMIC_PORT": "10022", "CONSISTENCY_DIR": "/data"}
    cloud.sms.update_task(task, name="web-01-wave-1", speed_limit_mbps=300)
    assert [t.name for t in cloud.sms.list_tasks(name="web-01-wave-1")] == ["web-01-wave-1"]
    cloud.sms.task_action(task, "start")
    with pytest.raises(CloudConflictError):
        cloud.sms.update_task(task, name="renamed-running")


def test_clients_are_shared_safely_between_threads(cloud: Cloud) -> None:
    seen: list[object] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            seen.append(cloud.sms)
            for _ in range(5):
                assert cloud.kms.describe_key("evs/default").enabled
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len({id(s) for s in seen}) == 1
