"""Plan files: deterministic digest, round trip, edited or unknown-version files refused."""

from __future__ import annotations

import json

import pytest

from mgc_iac.errors import PlanFileError
from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.planfile import plan_to_dict, read_plan, write_plan


def test_same_inputs_give_the_same_digest(demo_stack, tmp_path):
    first = write_plan(plan_stack(demo_stack).plan, tmp_path / "a.json")
    second = write_plan(plan_stack(demo_stack).plan, tmp_path / "b.json")
    assert first == second and first.startswith("sha256:")
    assert "T" not in json.loads((tmp_path / "a.json").read_text())["spec_digest"][7:]  # no timestamps in content


def test_file_carries_what_a_reviewer_and_apply_need(demo_stack, tmp_path):
    plan = plan_stack(demo_stack).plan
    write_plan(plan, tmp_path / "p.json")
    body = json.loads((tmp_path / "p.json").read_text())
    assert body["format_version"] == "1.3"
    assert body["state_serial"] == 0 and body["spec_digest"].startswith("sha256:")
    assert body["provenance"]["author"] is None  # only a signed plan (plan --sign-key) names its author
    assert body["spec"]["metadata"]["name"] == "demo"
    assert body["gates"] == plan.gates()
    assert {c["action"] for c in body["resource_changes"]} == {"create"}


def test_round_trip(demo_stack, tmp_path):
    plan = plan_stack(demo_stack).plan
    digest = write_plan(plan, tmp_path / "p.json")
    loaded, loaded_digest = read_plan(tmp_path / "p.json")
    assert loaded_digest == digest
    assert plan_to_dict(loaded) == plan_to_dict(plan)


def test_spec_change_changes_the_digest(demo_stack, tmp_path):
    before = plan_to_dict(plan_stack(demo_stack).plan)["digest"]
    wf = demo_stack / "workflows.yaml"
    wf.write_text(wf.read_text().replace("owner: platform", "owner: payments"))
    assert plan_to_dict(plan_stack(demo_stack).plan)["digest"] != before


def test_provenance_is_outside_the_digest(demo_stack):
    from dataclasses import replace

    plan = plan_stack(demo_stack).plan
    signed = replace(plan, provenance=replace(plan.provenance, author="someone-else", signature="-----BEGIN..."))
    first, second = plan_to_dict(plan), plan_to_dict(signed)
    assert first["provenance"] != second["provenance"] and first["digest"] == second["digest"]


def test_edited_plan_is_refused(demo_stack, tmp_path):
    write_plan(plan_stack(demo_stack).plan, tmp_path / "p.json")
    body = json.loads((tmp_path / "p.json").read_text())
    body["resource_changes"][0]["action"] = "no-op"
    (tmp_path / "p.json").write_text(json.dumps(body))
    with pytest.raises(PlanFileError, match="edited after it was made"):
        read_plan(tmp_path / "p.json")


def test_unknown_major_version_is_refused(demo_stack, tmp_path):
    write_plan(plan_stack(demo_stack).plan, tmp_path / "p.json")
    body = json.loads((tmp_path / "p.json").read_text())
    body["format_version"] = "2.0"
    (tmp_path / "p.json").write_text(json.dumps(body))
    with pytest.raises(PlanFileError, match="format_version 2.0 is not supported"):
        read_plan(tmp_path / "p.json")


def test_not_a_plan_file(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(PlanFileError, match="not a plan file"):
        read_plan(tmp_path / "x.json")
    with pytest.raises(PlanFileError, match="no such plan file"):
        read_plan(tmp_path / "missing.json")
