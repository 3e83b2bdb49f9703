"""spec -> graph: the Server Migration template per server, resources per workflow."""

from __future__ import annotations

from mgc_iac.graph import STEP_ORDER, StepKind, build_graph, default_flavor
from mgc_iac.graph.model import TEST_STEPS
from mgc_iac.stack.loader import load_stack


def graph_of(make_stack, data):
    return build_graph(load_stack(make_stack(data)).stack)


def test_template_order_and_gates(make_stack, base):
    g = graph_of(make_stack, base)
    node = g.servers()[0]
    # test_launch off (the default): the card's ten steps, no test step
    assert [s.kind for s in node.steps] == [k for k in STEP_ORDER if k not in TEST_STEPS]
    assert len(node.steps) == 10
    assert [s.kind for s in node.steps if s.manual] == [StepKind.RESIZE_DISK_PARTITION,
                                                         StepKind.BUSINESS_VALIDATION, StepKind.CUTOVER]
    assert node.gate(StepKind.CUTOVER) == "shop-wave-1/web-01/Cutover"


def test_test_launch_adds_its_steps_after_the_sync_converged(make_stack, base):
    for mode, what in (("clone", "clone_test"), ("target", "SMS test")):
        base["workflows"][0]["test_launch"] = mode
        node = graph_of(make_stack, base).servers()[0]
        names = [s.kind.value for s in node.steps]
        assert names[names.index("VerifyConsistency"):names.index("Cutover") + 1] == [
            "VerifyConsistency", "TestLaunch", "TestValidation", "TestCleanup", "BusinessValidation", "Cutover"]
        assert node.step(StepKind.TEST_VALIDATION).manual and not node.step(StepKind.TEST_LAUNCH).manual
        assert what in node.step(StepKind.TEST_LAUNCH).reason


def test_optional_steps(make_stack, base):
    wf = base["workflows"][0]
    wf["advanced"].update(quick_mode=True, verify_consistency=False)
    wf["servers"] = {"db-01": {"disks": [{"device": "/dev/vdb", "size_gb": 100}]}}
    g = graph_of(make_stack, base)
    web, db = g.servers()
    assert not web.step(StepKind.START_SYNCHRONIZATION).enabled
    assert not web.step(StepKind.VERIFY_CONSISTENCY).enabled
    assert not web.step(StepKind.RESIZE_DISK_PARTITION).enabled
    assert db.step(StepKind.RESIZE_DISK_PARTITION).enabled
    assert g.resources["shop-wave-1/db-01/target_server"].attrs["disks"][1] == {"device": "/dev/vdb", "size_gb": 100}


def test_hash_policy_turns_verification_on(make_stack, base):
    base["workflows"][0]["advanced"]["verify_consistency"] = False
    base["workflows"][0]["verification_policy"] = {"hash": True, "include_paths": ["/data"]}
    node = graph_of(make_stack, base).servers()[0]
    assert node.step(StepKind.VERIFY_CONSISTENCY).enabled
    assert "/data" in node.step(StepKind.VERIFY_CONSISTENCY).reason


def test_windows_is_block_level(make_stack, base):
    for s in base["sources"]:
        s["os"] = "windows"
    g = graph_of(make_stack, base)
    assert g.resources["shop-wave-1/web-01/migration_task"].attrs["type"] == "MIGRATE_BLOCK"
    assert "8899/8900" in g.servers()[0].step(StepKind.START_UP_AGENT).reason


def test_target_attributes(make_stack, base):
    base["workflows"][0]["advanced"].update(retain_ip=True, bandwidth_limit_mbps=100)
    base["workflows"][0]["servers"] = {"web-01": {"target_name": "web-01-hw", "flavor": "c7.large.2"}}
    g = graph_of(make_stack, base)
    web = g.resources["shop-wave-1/web-01/target_server"].attrs
    db = g.resources["shop-wave-1/db-01/target_server"].attrs
    assert web["name"] == "web-01-hw" and web["flavor"] == "c7.large.2" and web["fixed_ip"] == "192.168.1.10"
    assert db["flavor"] == default_flavor(4, 8192) == "s6.xlarge.2"
    assert web["encryption"] == {"enabled": True, "key_id": None, "key_alias": "evs/default"}
    assert web["tags"] == {"owner": "platform"} and web["eip"] is True
    # 100 Mbit/s shared by two servers: 12 GB used takes 12*8192/50 s
    assert g.servers()[0].estimated_seconds == int(12 * 8192 / 50)


def test_notification_is_a_workflow_resource(make_stack, base):
    base["workflows"][0]["advanced"]["notifications"] = {"topic_urn": "urn:smn:cn-north-4:p:t", "on": ["failed"]}
    g = graph_of(make_stack, base)
    assert g.resources["shop-wave-1/notification"].attrs == {"topic_urn": "urn:smn:cn-north-4:p:t",
                                                              "language": "en-us", "on": ["failed"]}
