"""approvals.yaml: loaded with the approvals in state; a bad file names the file, the line and the field."""

from __future__ import annotations

import pytest

from mgc_iac.approvals import approvals_path, check_requirements, combine, load_approvals_file
from mgc_iac.errors import ApprovalError
from mgc_iac.stack.models import ApprovalPolicy
from mgc_iac.state import ApprovalRecord

BV = "shop-wave-1/web-01/BusinessValidation"
DB_BV = "shop-wave-1/db-01/BusinessValidation"


def test_file_and_state_approvals_combine(planned, demo_stack):
    plan, digest = planned
    (demo_stack / "approvals.yaml").write_text(
        f"approvals:\n  - gates: [{BV}]\n    by: alice\n    plan_digest: {digest}\n    comment: checked the shop\n")
    loaded = load_approvals_file(approvals_path(demo_stack))
    approvals = combine(loaded, [ApprovalRecord(DB_BV, "bob", digest, "2026-01-01T00:00:00Z", "cli")])
    assert {(a.gate, a.via) for a in approvals} == {(BV, "git"), (DB_BV, "cli")}
    assert check_requirements(plan, digest, approvals, ApprovalPolicy(), None, gates=[BV, DB_BV]) == []


def test_a_bad_field_is_reported_with_file_line_and_field(tmp_path):
    path = tmp_path / "approvals.yaml"
    path.write_text("approvals:\n  - gates: [a/b/Cutover]\n    by: alice\n    plan_digest: nope\n")
    with pytest.raises(ApprovalError) as err:
        load_approvals_file(path)
    message = str(err.value)
    assert f"{path}:4" in message and "approvals.0.plan_digest" in message


def test_an_unknown_key_is_refused(tmp_path):
    path = tmp_path / "approvals.yaml"
    path.write_text("approvals:\n  - gates: [a/b/Cutover]\n    by: alice\n    approver: bob\n"
                    f"    plan_digest: sha256:{'a' * 64}\n")
    with pytest.raises(ApprovalError, match=r"approvals.yaml:4: approvals.0.approver"):
        load_approvals_file(path)


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "approvals.yaml"
    path.write_text("approvals:\n  - gates: [a/b/Cutover\n    by: alice\n")
    with pytest.raises(ApprovalError, match=r"approvals.yaml:\d+: not valid YAML"):
        load_approvals_file(path)


def test_an_empty_file_approves_nothing(tmp_path):
    path = tmp_path / "approvals.yaml"
    path.write_text("")
    assert load_approvals_file(path).approvals == []
    assert approvals_path(tmp_path / "missing") is None
