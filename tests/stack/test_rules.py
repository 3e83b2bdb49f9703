"""Every MgC rule: a stack that passes it and one that fails it, with the field named."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

import pytest

from mgc_iac.operations._planning import check
from mgc_iac.stack.facts import KeyFacts, LiveFacts, NetworkFacts, SecurityGroupFacts, SourceLiveFacts


def run(make_stack, data: dict[str, Any], facts: LiveFacts | None = None):
    return check(make_stack(data), facts=facts).diagnostics


def rules_of(diags, severity: str = "error") -> set[str]:
    return {d.rule for d in diags if d.severity.value == severity}


def wf(data: dict[str, Any]) -> dict[str, Any]:
    return data["workflows"][0]


def test_base_stack_is_clean(make_stack, base):
    assert rules_of(run(make_stack, base)) == set()


@pytest.mark.parametrize("port, ok", [(22, True), (10000, True), (65535, True), (2222, False), (9999, False),
                                      (445, False), (8899, False), (49713, False), (135, False)])
def test_migration_port(make_stack, base, port, ok):
    wf(base)["migration_port"] = port
    diags = run(make_stack, base)
    assert ("migration-port" not in rules_of(diags)) is ok
    if not ok:
        err = next(d for d in diags.errors if d.rule == "migration-port")
        assert err.path == "workflows[0].migration_port"
        assert "use 22 or a free port in 10000-65535" in err.fix
        assert err.line is not None and err.file.endswith("stack.yaml")


def test_blacklisted_port_message_matches_the_issue_example(make_stack, base):
    wf(base)["migration_port"] = 445
    err = run(make_stack, base).errors[0]
    assert err.render().endswith("workflows[0].migration_port: port 445 is reserved by Windows services; "
                                 "use 22 or a free port in 10000-65535")


def test_control_and_transmission_ports_are_fixed(make_stack, base):
    assert "fixed-port" not in rules_of(run(make_stack, base))
    wf(base)["control_port"] = 9000
    wf(base)["transmission_port"] = 8901
    errs = [d for d in run(make_stack, base).errors if d.rule == "fixed-port"]
    assert {e.path for e in errs} == {"workflows[0].control_port", "workflows[0].transmission_port"}


def test_at_most_100_servers_per_workflow(make_stack, base):
    src = base["sources"][0]
    base["sources"] = [dict(src, name=f"s{i}", mac=f"fa:16:3e:00:{i // 256:02x}:{i % 256:02x}") for i in range(100)]
    base["migration_plans"] = []
    assert "max-servers" not in rules_of(run(make_stack, base))
    base["sources"].append(dict(src, name="s100", mac="fa:16:3e:01:00:00"))
    assert "max-servers" in rules_of(run(make_stack, base))


def test_limit_is_configuration(make_stack, base):
    base["limits"] = {"max_servers_per_workflow": 1}
    assert "max-servers" in rules_of(run(make_stack, base))


def test_duplicate_mac_in_stack(make_stack, base):
    base["sources"][1]["mac"] = "FA:16:3E:00:00:01"  # same MAC, other case
    err = next(d for d in run(make_stack, base).errors if d.rule == "duplicate-mac")
    assert "web-01" in err.message and "db-01" in err.message and err.path == "sources[1].mac"


def test_duplicate_mac_across_stacks_sharing_a_backend(make_stack, base, isolated_state):
    from mgc_iac.state import SourceRecord, SQLiteStore

    store = SQLiteStore(isolated_state)
    with store.transaction("other") as txn:
        txn.set_sources([SourceRecord("other", "legacy-01", "fa:16:3e:00:00:02")])
    store.close()
    err = next(d for d in run(make_stack, base).errors if d.rule == "duplicate-mac")
    assert "legacy-01" in err.message and "`other`" in err.message


def test_security_group_declared_ingress(make_stack, base):
    wf(base)["target"]["security_group_ingress"] = [22, 443]
    assert "security-group" not in rules_of(run(make_stack, base))
    wf(base)["target"]["security_group_ingress"] = [443]
    assert "security-group" in rules_of(run(make_stack, base))


def test_windows_needs_8899_and_8900(make_stack, base):
    for s in base["sources"]:
        s["os"] = "windows"
    wf(base)["target"]["security_group_ingress"] = [22]
    err = next(d for d in run(make_stack, base).errors if d.rule == "security-group")
    assert "8899" in err.message and "8900" in err.message and "Windows" in err.message
    wf(base)["target"]["security_group_ingress"] = [22, 8899, 8900]
    assert "security-group" not in rules_of(run(make_stack, base))


def test_security_group_from_live_facts(make_stack, base):
    open_22 = LiveFacts(security_groups={"sg-shop": SecurityGroupFacts("id1", frozenset({22}))})
    closed = LiveFacts(security_groups={"sg-shop": SecurityGroupFacts("id1", frozenset())})
    missing = LiveFacts(security_groups={"sg-shop": None})
    assert "security-group" not in rules_of(run(make_stack, base, open_22))
    assert "security-group" in rules_of(run(make_stack, base, closed))
    assert any("does not exist" in d.message for d in run(make_stack, base, missing).errors)


def test_subnet_inside_vpc(make_stack, base):
    t = wf(base)["target"]
    t["vpc_cidr"], t["subnet_cidr"] = "192.168.0.0/16", "192.168.1.0/24"
    assert "subnet-in-vpc" not in rules_of(run(make_stack, base))
    t["subnet_cidr"] = "10.0.1.0/24"
    assert "subnet-in-vpc" in rules_of(run(make_stack, base))


def test_subnet_inside_vpc_from_live_facts(make_stack, base):
    facts = LiveFacts(vpcs={"vpc-shop": NetworkFacts("v", IPv4Network("192.168.0.0/16"))},
                      subnets={"subnet-shop": NetworkFacts("s", IPv4Network("172.16.0.0/24"), "v")})
    assert "subnet-in-vpc" in rules_of(run(make_stack, base, facts))


def test_vpc_range_advice_is_a_warning(make_stack, base):
    wf(base)["target"]["vpc_cidr"] = "192.168.0.0/16"
    assert "vpc-range" not in rules_of(run(make_stack, base), "warning")
    wf(base)["target"]["vpc_cidr"] = "10.0.0.0/8"
    diags = run(make_stack, base)
    assert "vpc-range" in rules_of(diags, "warning") and not diags.has_errors
    assert "192.168.0.0/16" in next(d for d in diags.warnings if d.rule == "vpc-range").fix


@pytest.mark.parametrize("enc, ok", [
    ({"enabled": True, "key_alias": "evs/default"}, True),
    ({"enabled": True, "key_id": "0d0466b0-0000-4000-8000-000000000001"}, True),
    ({"enabled": True, "key_id": "0d0466b0-0000-4000-8000-000000000001", "shared": True}, True),
    ({"enabled": False}, True),
    ({"enabled": True}, False),
    ({"enabled": True, "key_id": "a", "key_alias": "b"}, False),
    ({"enabled": True, "key_alias": "b", "shared": True}, False),
])
def test_encryption_key_choice(make_stack, base, enc, ok):
    wf(base)["encryption"] = enc
    assert ("encryption" not in rules_of(run(make_stack, base))) is ok


@pytest.mark.parametrize("key, message", [
    (KeyFacts("k", "evs/default", "AES_256", "2"), None),
    (KeyFacts("k", "evs/default", "AES_256", "3"), "not enabled"),
    (KeyFacts("k", "evs/default", "RSA_2048", "2"), "AES_256"),
    (None, "does not exist"),
])
def test_encryption_key_facts(make_stack, base, key, message):
    diags = run(make_stack, base, LiveFacts(keys={"evs/default": key}))
    errs = [d for d in diags.errors if d.rule == "encryption"]
    if message is None:
        assert not errs
    else:
        assert errs and message in errs[0].message and errs[0].path == "workflows[0].encryption.key_alias"


def test_rsync_missing_without_install_is_an_error(make_stack, base):
    base["sources"][0]["facts"] = {"rsync": False}
    err = next(d for d in run(make_stack, base).errors if d.rule == "rsync")
    assert "web-01" in err.message and "install_rsync: true" in err.fix
    wf(base)["advanced"]["install_rsync"] = True
    assert "rsync" not in rules_of(run(make_stack, base))


def test_rsync_from_live_facts(make_stack, base):
    facts = LiveFacts(sources={"db-01": SourceLiveFacts(rsync=False)})
    assert "rsync" in rules_of(run(make_stack, base, facts))


def test_exclude_paths_at_most_30(make_stack, base):
    wf(base)["verification_policy"] = {"exclude_paths": [f"/data/x{i}" for i in range(30)]}
    assert "exclude-paths" not in rules_of(run(make_stack, base))
    wf(base)["verification_policy"]["exclude_paths"].append("/data/x30")
    assert "exclude-paths" in rules_of(run(make_stack, base))


def test_hash_verification_needs_include_paths(make_stack, base):
    wf(base)["verification_policy"] = {"hash": True}
    assert "hash-include" in rules_of(run(make_stack, base))
    wf(base)["verification_policy"]["include_paths"] = ["/data"]
    assert "hash-include" not in rules_of(run(make_stack, base))


def test_include_path_under_default_excluded_is_a_warning(make_stack, base):
    wf(base)["verification_policy"] = {"hash": True, "include_paths": ["/data", "/var/lib/mysql"]}
    diags = run(make_stack, base)
    warns = [d for d in diags.warnings if d.rule == "include-path"]
    assert len(warns) == 1 and "/var" in warns[0].message and not diags.has_errors
    assert warns[0].path == "workflows[0].verification_policy.include_paths[1]"


def test_windows_partition_root_include_is_a_warning(make_stack, base):
    for s in base["sources"]:
        s["os"] = "windows"
    wf(base)["verification_policy"] = {"include_paths": ["C:\\", "D:\\data"]}
    warns = [d for d in run(make_stack, base).warnings if d.rule == "include-path"]
    assert len(warns) == 1 and "partition root" in warns[0].message


@pytest.mark.parametrize("memory, cpus, os, rule", [
    (520, 0.3, "linux", None), (519, 1, "linux", "source-memory"), (1024, 0.2, "linux", "source-cpu"),
    (1024, 0.5, "windows", "source-cpu"), (1024, 1, "windows", None),
])
def test_source_memory_and_cpu(make_stack, base, memory, cpus, os, rule):
    for s in base["sources"]:
        s["os"] = os
    base["sources"][0]["facts"] = {"available_memory_mb": memory, "available_cpus": cpus}
    got = rules_of(run(make_stack, base)) & {"source-memory", "source-cpu"}
    assert got == ({rule} if rule else set())


@pytest.mark.parametrize("mbps, shared, ok", [(30, False, True), (29, False, False), (50, True, True),
                                              (40, True, False)])
def test_agent_download_bandwidth(make_stack, base, mbps, shared, ok):
    wf(base)["network"] = {"agent_download": {"bandwidth_mbps": mbps, "shared": shared}}
    assert ("agent-download" not in rules_of(run(make_stack, base))) is ok


def test_small_bandwidth_limit_per_server_is_a_warning(make_stack, base):
    wf(base)["advanced"]["bandwidth_limit_mbps"] = 100
    assert "bandwidth" not in rules_of(run(make_stack, base), "warning")
    wf(base)["advanced"]["bandwidth_limit_mbps"] = 10
    diags = run(make_stack, base)
    assert "bandwidth" in rules_of(diags, "warning") and not diags.has_errors


def test_retain_ip_warns_and_needs_source_ips_in_subnet(make_stack, base):
    wf(base)["advanced"]["retain_ip"] = True
    diags = run(make_stack, base)
    assert "retain-ip" in rules_of(diags, "warning") and not diags.has_errors
    wf(base)["target"]["subnet_cidr"] = "192.168.9.0/24"
    assert "retain-ip" in rules_of(run(make_stack, base))


def test_proxy_only_on_private_network(make_stack, base):
    wf(base)["network"] = {"type": "private", "proxy": {"host": "10.0.0.5", "port": 3128}}
    assert "network" not in rules_of(run(make_stack, base))
    wf(base)["network"]["type"] = "public"
    assert "network" in rules_of(run(make_stack, base))


def test_references_and_selection(make_stack, base):
    wf(base)["source"] = {"application": "shopp"}
    err = next(d for d in run(make_stack, base).errors if d.rule == "unknown-ref")
    assert "did you mean `shop`?" in err.fix
    wf(base)["source"] = {"migration_plan": "wave-2"}
    assert "unknown-ref" in rules_of(run(make_stack, base))
    wf(base)["source"] = {"migration_plan": "wave-1", "application": "shop"}
    assert "selection" in rules_of(run(make_stack, base))
    base["migration_plans"][0]["servers"].append("ghost-01")
    wf(base)["source"] = {"migration_plan": "wave-1"}
    assert any("ghost-01" in d.message for d in run(make_stack, base).errors)


def test_one_source_in_two_workflows(make_stack, base):
    second = dict(wf(base), name="shop-wave-2", source={"migration_plan": "wave-1"})
    base["workflows"].append(second)
    err = next(d for d in run(make_stack, base).errors if d.rule == "source-in-two-workflows")
    assert "shop-wave-1" in err.message


def test_duplicate_names_and_empty_stack(make_stack, base):
    base["workflows"].append(dict(wf(base)))
    assert "duplicate-name" in rules_of(run(make_stack, base))
    assert {"empty-stack"} <= rules_of(run(make_stack, {"metadata": {"name": "x", "project": "p"}}))


def test_server_overrides_and_disk_resize(make_stack, base):
    wf(base)["servers"] = {"web-01": {"disks": [{"device": "/dev/vda", "size_gb": 20}]}}
    assert not run(make_stack, base).has_errors
    wf(base)["servers"] = {"web-01": {"disks": [{"device": "/dev/vda", "size_gb": 5}]}}
    assert "disk-resize" in rules_of(run(make_stack, base))
    wf(base)["servers"] = {"web-99": {"target_name": "x"}}
    assert "unknown-ref" in rules_of(run(make_stack, base))


def test_notifications_topic_and_tags(make_stack, base):
    wf(base)["advanced"]["notifications"] = {"topic_urn": "urn:smn:cn-north-4:abc:migration-events"}
    assert "notifications" not in rules_of(run(make_stack, base))
    wf(base)["advanced"]["notifications"] = {"topic_urn": "migration-events"}
    assert "notifications" in rules_of(run(make_stack, base))
    wf(base)["advanced"]["notifications"] = None
    wf(base)["advanced"]["tags"] = {"_sys_owner": "x"}
    assert "tags" in rules_of(run(make_stack, base))


def test_concurrency_cap_is_a_warning(make_stack, base):
    base["limits"] = {"max_concurrent_migrations": 1}
    diags = run(make_stack, base)
    assert "concurrency" in rules_of(diags, "warning") and not diags.has_errors


@pytest.mark.parametrize("region, ok", [("cn-north-4", True), ("cn-east-3", True), ("ap-southeast-1", False),
                                        ("eu-west-101", False)])
def test_sm4_keys_are_accepted_where_the_region_offers_them(make_stack, base, region, ok):
    """SM4 (China's national algorithm) exists in Chinese-mainland regions only; AES_256 everywhere."""
    wf(base)["target"].update(region=region, project=region)
    base.setdefault("cloud", {})["region"] = region
    sm4 = LiveFacts(keys={"evs/default": KeyFacts("k", "evs/default", "SM4", "2")})
    errs = [d for d in run(make_stack, base, sm4).errors if d.rule == "encryption"]
    assert (errs == []) is ok
    if not ok:
        assert f"in {region} needs AES_256" in errs[0].message
    aes = LiveFacts(keys={"evs/default": KeyFacts("k", "evs/default", "AES_256", "2")})
    assert not [d for d in run(make_stack, base, aes).errors if d.rule == "encryption"]


@pytest.mark.parametrize("agency, severity", [(True, None), (False, "error"), (None, "warning")])
def test_the_evs_kms_agency_is_checked_when_a_workflow_encrypts(make_stack, base, agency, severity):
    facts = LiveFacts(keys={"evs/default": KeyFacts("k", "evs/default", "AES_256", "2")}, kms_agency=agency,
                      kms_agency_note="" if agency is not None else "IAM answered: forbidden")
    found = [d for d in run(make_stack, base, facts).items if d.rule == "encryption"]
    if severity is None:
        assert found == []
        return
    [diag] = found
    assert diag.severity == severity and "EVSAccessKMS" in diag.message
    assert diag.path == "workflows[0].encryption.enabled"
    if severity == "error":
        assert "IAM" in diag.fix and "EVS console" in diag.fix
    wf(base)["encryption"] = {"enabled": False}
    assert not [d for d in run(make_stack, base, facts).items if d.rule == "encryption"]
