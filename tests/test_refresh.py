"""`plan --refresh`: the live rules see the lab cloud's VPCs, security group rules, KMS keys and topics."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgc_iac.cloud import Cloud
from mgc_iac.lab.testing import RunningLab, running_lab
from mgc_iac.operations._planning import check
from mgc_iac.operations._refresh import gather_facts
from mgc_iac.stack.loader import load_stack


def refreshed(stack_dir: Path, lab: RunningLab):
    facts = gather_facts(load_stack(stack_dir), Cloud(lab.settings), sources=False)
    return facts, check(stack_dir, facts=facts).diagnostics


def edit(stack_dir: Path, old: str, new: str) -> None:
    path = stack_dir / "workflows.yaml"
    path.write_text(path.read_text().replace(old, new))


def test_demo_passes_the_live_rules(demo_stack, lab):
    facts, diags = refreshed(demo_stack, lab)
    assert not diags.has_errors, [d.render() for d in diags.errors]
    assert str(facts.vpcs["vpc-shop"].cidr) == "192.168.0.0/16"
    assert facts.security_groups["sg-shop"].allows(22)
    assert facts.keys["shop-disk-key"].enabled


@pytest.mark.parametrize("old, new, rule, words", [
    ("security_group: sg-shop", "security_group: sg-closed", "security-group", "does not allow inbound TCP 22"),
    ("key_alias: shop-disk-key", "key_alias: old-key", "encryption", "not enabled"),
    ("key_alias: shop-disk-key", "key_alias: rsa-key", "encryption", "AES_256"),
    ("key_alias: shop-disk-key", "key_alias: no-such-key", "encryption", "does not exist"),
    ("subnet: subnet-shop", "subnet: subnet-nowhere", "subnet", "does not exist"),
])
def test_live_rule_failures(demo_stack, lab, old, new, rule, words):
    edit(demo_stack, old, new)
    _, diags = refreshed(demo_stack, lab)
    errors = [d for d in diags.errors if d.rule == rule]
    assert errors and words in errors[0].message
    assert errors[0].file.endswith("workflows.yaml") and errors[0].line


def test_windows_sources_need_the_windows_ports(demo_stack, lab):
    sources = demo_stack / "sources.yaml"
    sources.write_text(sources.read_text().replace("os: linux", "os: windows"))
    _, diags = refreshed(demo_stack, lab)
    assert any(d.rule == "security-group" and "8899" in d.message for d in diags.errors)
    edit(demo_stack, "security_group: sg-shop", "security_group: sg-windows")
    _, diags = refreshed(demo_stack, lab)
    assert not [d for d in diags.errors if d.rule == "security-group"]


def test_refresh_checks_the_evs_kms_agency_an_encrypted_workflow_needs(demo_stack, tmp_path):
    """Against a lab account without EVSAccessKMS (seed `agencies: []`), `plan --refresh` refuses before
    anything runs, with the fix; the same account with the agency passes."""
    import yaml

    seed = yaml.safe_load((demo_stack / "lab-seed.yaml").read_text())
    seed["cloud"]["agencies"] = []
    path = tmp_path / "no-agency.yaml"
    path.write_text(yaml.safe_dump(seed))
    with running_lab(tmp_path / "bare", seed=path) as bare:
        facts, diags = refreshed(demo_stack, bare)
    assert facts.kms_agency is False
    [err] = [d for d in diags.errors if d.rule == "encryption"]
    assert "EVSAccessKMS" in err.message and "IAM > Agencies" in err.fix
    assert err.file.endswith("workflows.yaml") and err.line
    edit(demo_stack, "encryption: {enabled: true, key_alias: shop-disk-key}", "encryption: {enabled: false}")
    with running_lab(tmp_path / "bare2", seed=path) as bare:
        facts, diags = refreshed(demo_stack, bare)
    assert facts.kms_agency is None and not [d for d in diags.errors if d.rule == "encryption"]
