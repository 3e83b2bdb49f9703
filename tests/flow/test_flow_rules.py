"""Validation of issue 23's workflow fields: depends_on names and cycles (the cycle named), a target test in
quick mode, checks; the order of waves."""

from __future__ import annotations

import copy
from typing import Any

from mgc_iac.graph.waves import find_cycle, wave_levels
from mgc_iac.operations.planning import check


def three_workflows(base: dict[str, Any]) -> dict[str, Any]:
    wf = base["workflows"][0]
    base["workflows"] = [dict(copy.deepcopy(wf), name=n) for n in ("wave-a", "wave-b", "wave-c")]
    # one source per workflow would be the real layout; sharing a selection is another rule's business here
    return base


def errors(make_stack, data: dict[str, Any], rule: str) -> list[Any]:
    return [d for d in check(make_stack(data)).diagnostics.errors if d.rule == rule]


def test_unknown_workflow_is_refused_with_file_line_and_names(make_stack, base) -> None:
    data = three_workflows(base)
    data["workflows"][1]["depends_on"] = ["wave-x"]
    [err] = errors(make_stack, data, "depends-on")
    assert err.path == "workflows[1].depends_on[0]" and err.line is not None and err.file.endswith("stack.yaml")
    assert "`wave-x`, which is not a workflow of this stack" in err.message
    assert "wave-a, wave-b, wave-c" in err.fix


def test_cycles_are_refused_and_named(make_stack, base) -> None:
    data = three_workflows(base)
    data["workflows"][0]["depends_on"] = ["wave-c"]
    data["workflows"][1]["depends_on"] = ["wave-a"]
    data["workflows"][2]["depends_on"] = ["wave-b"]
    [err] = errors(make_stack, data, "depends-on-cycle")
    assert "wave-a -> wave-c -> wave-b -> wave-a" in err.message
    self_loop = three_workflows(copy.deepcopy(base))
    self_loop["workflows"][2]["depends_on"] = ["wave-c"]
    [err] = errors(make_stack, self_loop, "depends-on-cycle")
    assert "wave-c -> wave-c" in err.message


def test_waves_and_cycles_as_pure_functions() -> None:
    deps = {"db": [], "app": ["db"], "web": ["app"], "batch": ["db"], "ops": []}
    assert find_cycle(deps) is None
    assert wave_levels(list(deps), deps) == [["db", "ops"], ["app", "batch"], ["web"]]
    assert find_cycle({"a": ["b"], "b": ["a"], "c": []}) == ["a", "b", "a"]


def test_target_test_needs_the_incremental_sync(make_stack, base) -> None:
    base["workflows"][0].update(test_launch="target")
    base["workflows"][0]["advanced"]["quick_mode"] = True
    [err] = errors(make_stack, base, "test-launch")
    assert "use test_launch: clone" in err.fix
    base["workflows"][0]["test_launch"] = "clone"
    assert errors(make_stack, base, "test-launch") == []


def test_checks_have_unique_names_and_a_login_on_huawei_cloud(make_stack, base) -> None:
    base["workflows"][0]["validation"] = {"checks": [{"name": "web", "command": "true"},
                                                     {"name": "web", "http": "http://{ip}/", "expect_status": 204}]}
    [err] = errors(make_stack, base, "checks")
    assert err.path == "workflows[0].validation.checks[1].name"
    base["workflows"][0]["validation"]["checks"][1]["name"] = "health"
    assert errors(make_stack, base, "checks") == []
    base["cloud"] = {"provider": "huaweicloud", "region": base["cloud"]["region"]} if "cloud" in base else \
        {"provider": "huaweicloud"}
    found = [d for d in check(make_stack(base)).diagnostics.errors if d.rule == "checks"]
    assert found and "validation.ssh" in found[0].message


def test_a_check_must_be_a_command_or_a_url(make_stack, base) -> None:
    import pytest

    from mgc_iac.errors import SpecError

    base["workflows"][0]["validation"] = {"checks": [{"name": "web", "ssh": "true"}]}
    with pytest.raises(SpecError) as info:
        check(make_stack(base))
    text = str(info.value)
    assert "stack.yaml:" in text and "validation.checks[0]" in text
    assert "`command` is missing" in text and "`http` is missing" in text
