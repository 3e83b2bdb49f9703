"""The page rules of issue 10: for each, a stack that passes and one that fails, with the field named."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from mgc_iac.errors import SpecError
from mgc_iac.operations._planning import check
from mgc_iac.stack.facts import KeyFacts, LiveFacts


def diags_of(make_stack, data: dict[str, Any], facts: LiveFacts | None = None):
    return check(make_stack(data), facts=facts).diagnostics


def errors(make_stack, data, rule: str, facts=None) -> list:
    return [d for d in diags_of(make_stack, data, facts).errors if d.rule == rule]


def wf(data: dict[str, Any]) -> dict[str, Any]:
    return data["workflows"][0]


def load_error(make_stack, data) -> str:
    with pytest.raises(SpecError) as err:
        check(make_stack(data))
    return str(err.value)


def test_total_memory_below_520_mb(make_stack, base):
    base["sources"][0]["memory_mb"] = 520
    assert errors(make_stack, base, "source-memory") == []
    base["sources"][0]["memory_mb"] = 512
    [err] = errors(make_stack, base, "source-memory")
    assert err.path == "sources[0].memory_mb" and "520" in err.message and err.line is not None


def test_available_memory_above_total(make_stack, base):
    base["sources"][0]["facts"] = {"available_memory_mb": 4096}
    assert errors(make_stack, base, "source-memory") == []
    base["sources"][0]["facts"] = {"available_memory_mb": 5000}
    [err] = errors(make_stack, base, "source-memory")
    assert err.path == "sources[0].facts.available_memory_mb" and "can never exceed" in err.fix


@pytest.mark.parametrize("mac, problem", [
    ("fa:16:3e:00:00:01", None), ("FA-16-3E-00-00-01", None),
    ("01:00:5e:00:00:01", "multicast"), ("ff:ff:ff:ff:ff:ff", "broadcast"), ("00:00:00:00:00:00", "all zeros"),
    ("fa:16-3e:00:00:01", "mixes"),
])
def test_macs_must_be_unicast_with_one_separator(make_stack, base, mac, problem):
    base["sources"][0]["mac"] = mac
    if problem is None:
        assert not diags_of(make_stack, base).has_errors
    else:
        text = load_error(make_stack, base)
        assert problem in text and "sources[0].mac" in text


@pytest.mark.parametrize("host, ok", [("192.168.1.5", True), ("10.0.0.9", True), ("8.8.8.8", False),
                                      ("proxy.example.com", False)])
def test_private_proxy_is_a_private_ip(make_stack, base, host, ok):
    wf(base)["network"] = {"type": "private", "proxy": {"host": host, "port": 3128}}
    errs = [e for e in errors(make_stack, base, "network") if e.path.endswith("proxy.host")]
    assert (errs == []) is ok


@pytest.mark.parametrize("url, ok", [("https://192.168.1.5/SMS-Agent.tar.gz", True), ("https://repo/a.tgz", True),
                                     ("192.168.1.5/agent", False), ("file:///tmp/a", False),
                                     ("ftp://192.168.1.5/a.tgz", False)])
def test_agent_package_url_is_a_url(make_stack, base, url, ok):
    wf(base)["network"] = {"type": "private", "agent_package_url": url}
    assert (errors(make_stack, base, "package-url") == []) is ok


def test_target_region_and_project_are_the_stacks_region(make_stack, base):
    assert errors(make_stack, base, "target-region") == []
    wf(base)["target"]["project"] = "cn-north-4_team"
    assert errors(make_stack, base, "target-region") == []
    wf(base)["target"]["region"] = "ap-southeast-1"
    wf(base)["target"]["project"] = "ap-southeast-1"
    [err] = errors(make_stack, base, "target-region")
    assert err.path == "workflows[0].target.region" and "cn-north-4" in err.message
    wf(base)["target"]["region"] = "cn-north-4"
    [err] = errors(make_stack, base, "target-region")
    assert err.path == "workflows[0].target.project"


def test_target_region_is_checked_under_refresh_too(make_stack, base):
    wf(base)["target"]["region"] = wf(base)["target"]["project"] = "ap-southeast-1"
    assert errors(make_stack, base, "target-region", facts=LiveFacts()) != []


def test_empty_key_alias(make_stack, base):
    assert errors(make_stack, base, "encryption") == []
    wf(base)["encryption"] = {"enabled": True, "key_alias": " "}
    [err] = errors(make_stack, base, "encryption")
    assert err.path == "workflows[0].encryption.key_alias" and "empty" in err.message


def test_smn_topic_outside_the_region(make_stack, base):
    wf(base)["advanced"]["notifications"] = {"topic_urn": "urn:smn:cn-north-4:0a1b:migration-events"}
    assert errors(make_stack, base, "notifications") == []
    wf(base)["advanced"]["notifications"] = {"topic_urn": "urn:smn:cn-east-3:0a1b:migration-events"}
    [err] = errors(make_stack, base, "notifications")
    assert "cn-east-3" in err.message and "cn-north-4" in err.message


@pytest.mark.parametrize("key, value, problem", [
    ("owner", "platform team", None), ("cost:center", "a/b@c+e-f_g.h", None), ("负责人", "张三", None),
    ("owner", "", None),
    # ECS's rules where they are stricter than TMS's (SDK PostPaidServerTag): '=' in a key reads back split
    ("k=v", "x", "'=' splits it"), ("owner", "a=b", "none of = * < > \\ , |"), ("k" * 37, "x", "1-36"),
    ("owner", "v" * 44, "at most 43"),
    (" owner", "x", "starts or ends with a space"), ("owner", "x ", "starts or ends with a space"),
    ("own/er", "x", "characters TMS does not allow"), ("owner", "a,b", "characters TMS does not allow"),
    ("owner", "a*b", "characters TMS does not allow"), ("k" * 129, "x", "1-128"), ("owner", "v" * 256, "0-255"),
    ("_sys_x", "y", "reserved"),
])
def test_tags_follow_tms_naming_rules(make_stack, base, key, value, problem):
    wf(base)["advanced"]["tags"] = {key: value}
    errs = errors(make_stack, base, "tags")
    if problem is None:
        assert errs == []
    else:
        [err] = errs
        assert problem in err.message and err.path.startswith("workflows[0].advanced.tags")


def test_at_most_ten_tags_and_a_warning_where_the_later_tag_api_is_narrower(make_stack, base):
    wf(base)["advanced"]["tags"] = {f"k{n}": "v" for n in range(10)}
    assert errors(make_stack, base, "tags") == []
    wf(base)["advanced"]["tags"] = {f"k{n}": "v" for n in range(11)}
    [err] = errors(make_stack, base, "tags")
    assert "at most 10" in err.message
    wf(base)["advanced"]["tags"] = {"cost:center": "a b"}
    diags = diags_of(make_stack, base)
    assert not [d for d in diags.errors if d.rule == "tags"]
    assert len([d for d in diags.items if d.rule == "tags" and d.severity == "warning"]) == 2


def test_thirty_paths_counted_after_splitting_and_the_string_form(make_stack, base):
    wf(base)["verification_policy"] = {"exclude_paths": "/root/data,/var"}  # the page's own form
    loaded = check(make_stack(base))
    assert loaded.loaded.stack.workflows[0].verification_policy.exclude_paths == ["/root/data", "/var"]
    assert not loaded.diagnostics.has_errors
    wf(base)["verification_policy"] = {"exclude_paths": [",".join(f"/data/x{i}" for i in range(16)),
                                                         ",".join(f"/data/y{i}" for i in range(15))]}
    [err] = errors(make_stack, base, "exclude-paths")
    assert "31 exclude paths" in err.message


@pytest.mark.parametrize("paths, problem", [
    (["/data"], None), (["data"], "not an absolute Linux path"), ([""], "is empty"),
    (["D:\\data"], "it is a Windows path"),
])
def test_linux_include_and_exclude_paths(make_stack, base, paths, problem):
    wf(base)["verification_policy"] = {"include_paths": paths}
    errs = errors(make_stack, base, "paths")
    assert (errs == []) is (problem is None)
    if problem:
        assert problem in errs[0].message and errs[0].path == "workflows[0].verification_policy.include_paths[0]"


def test_windows_paths_and_other_os(make_stack, base):
    for src in base["sources"]:
        src["os"] = "windows"
    wf(base)["target"]["security_group_ingress"] = [22, 8899, 8900]
    wf(base)["verification_policy"] = {"exclude_paths": ["D:\\data\\tmp"]}
    assert errors(make_stack, base, "paths") == []
    wf(base)["verification_policy"] = {"exclude_paths": ["/data/tmp"]}
    [err] = errors(make_stack, base, "paths")
    assert "it is a Linux path" in err.message


def test_a_path_both_included_and_excluded(make_stack, base):
    wf(base)["verification_policy"] = {"include_paths": ["/data"], "exclude_paths": ["/data/tmp"]}
    assert errors(make_stack, base, "paths") == []
    wf(base)["verification_policy"] = {"include_paths": ["/data"], "exclude_paths": ["/data"]}
    [err] = errors(make_stack, base, "paths")
    assert "both included in and excluded" in err.message


def test_copy_exclude_paths_are_checked_like_paths(make_stack, base):
    wf(base)["advanced"]["copy_exclude_paths"] = ["/var/cache"]
    assert errors(make_stack, base, "paths") == []
    wf(base)["advanced"]["copy_exclude_paths"] = ["var/cache"]
    [err] = errors(make_stack, base, "paths")
    assert err.path == "workflows[0].advanced.copy_exclude_paths[0]"


def test_install_rsync_on_a_windows_source(make_stack, base):
    wf(base)["advanced"]["install_rsync"] = True
    assert errors(make_stack, base, "install-rsync") == []
    base["sources"][0]["os"] = "windows"
    wf(base)["target"]["security_group_ingress"] = [22, 8899, 8900]
    [err] = errors(make_stack, base, "install-rsync")
    assert "web-01" in err.message and err.path == "workflows[0].advanced.install_rsync"


def test_verify_off_hash_on_is_refused(make_stack, base):
    wf(base)["verification_policy"] = {"hash": True, "include_paths": ["/data"]}
    assert errors(make_stack, base, "verification") == []
    wf(base)["advanced"]["verify_consistency"] = False
    [err] = errors(make_stack, base, "verification")
    assert err.path == "workflows[0].verification_policy.hash" and "verify_consistency" in err.fix


LAB_SEED = {"cloud": {"kms_keys": [{"alias": "good", "spec": "AES_256", "state": "enabled"},
                                   {"alias": "old-key", "spec": "AES_256", "state": "disabled"},
                                   {"alias": "rsa-key", "spec": "RSA_2048", "state": "enabled"}]}}


@pytest.mark.parametrize("alias, problem", [("good", None), ("old-key", "is disabled"), ("rsa-key", "RSA_2048"),
                                            ("unknown", None)])
def test_offline_a_key_the_lab_seed_knows_to_be_unusable(make_stack, base, alias, problem):
    base["cloud"] = {"provider": "lab"}
    wf(base)["encryption"] = {"enabled": True, "key_alias": alias}
    stack = make_stack(base)
    (stack / "lab-seed.yaml").write_text(yaml.safe_dump(LAB_SEED))
    errs = [d for d in check(stack).diagnostics.errors if d.rule == "encryption"]
    assert (errs == []) is (problem is None)
    if problem:
        assert problem in errs[0].message and "state 3" not in errs[0].message


def test_offline_a_key_the_last_refresh_saw_disabled(make_stack, base, isolated_state):
    from mgc_iac.stack.known_keys import remember_keys

    base["cloud"] = {"provider": "huaweicloud"}
    wf(base)["encryption"] = {"enabled": True, "key_alias": "team-key"}
    stack = make_stack(base)
    assert [d for d in check(stack).diagnostics.errors if d.rule == "encryption"] == []
    remember_keys(isolated_state, "t", {"team-key": KeyFacts("id-1", "team-key", "AES_256", "3")})
    assert json.loads((isolated_state.parent / "refresh-cache.json").read_text())["t"]["team-key"]["state"] == "3"
    [err] = [d for d in check(stack).diagnostics.errors if d.rule == "encryption"]
    assert "is disabled" in err.message


def test_refresh_message_says_disabled(make_stack, base):
    facts = LiveFacts(keys={"evs/default": KeyFacts("k", "evs/default", "AES_256", "3")})
    [err] = errors(make_stack, base, "encryption", facts=facts)
    assert "disabled" in err.message and "state 3" not in err.message


@pytest.mark.parametrize("field, cap", [("max_servers_per_workflow", 100), ("max_concurrent_migrations", 1000)])
def test_limits_can_be_lowered_never_raised(make_stack, base, field, cap):
    base["limits"] = {field: cap}
    assert not diags_of(make_stack, base).has_errors
    base["limits"] = {field: cap + 1}
    text = load_error(make_stack, base)
    assert f"limits.{field}" in text and str(cap) in text


def test_moved_blocks_name_a_new_server_and_a_gone_one(make_stack, base):
    base["moved"] = [{"from": "old-wave/web-01", "to": "shop-wave-1/web-01"}]
    assert errors(make_stack, base, "moved") == []
    base["moved"] = [{"from": "shop-wave-1/db-01", "to": "shop-wave-1/nope"}]
    errs = {e.path: e for e in errors(make_stack, base, "moved")}
    assert set(errs) == {"moved[0].to", "moved[0].from"}
    base["moved"] = [{"from": "web-01", "to": "shop-wave-1/web-01"}]
    assert "workflow/server" in load_error(make_stack, base)
