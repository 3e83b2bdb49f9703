"""Validation of issue 23's workflow fields: depends_on names and cycles (the cycle named), a target test in
quick mode, checks; the order of waves."""

from __future__ import annotations

import copy
from typing import Any

from mgc_iac.operations._planning import check
from mgc_iac.stack.waves import find_cycle, wave_levels


def three_workflows(base: dict[str, Any]) -> dict[str, Any]:
    wf = base["workflows"][0]
    base["workflows"] = [dict(copy.deepcopy(wf), name=n) for n in ("wave-a", "wave-b", "wave-c")]
    # one source per workflow would be the real layout; sharing a selection is another rule's business here
    return base


def errors(make_stack, data: dict[str, Any], rule: str) -> list[Any]:
    return [d for d in check(make_stack(data)).diagnostics.errors if d.rule == rule]


def schema_errors(directory: Any) -> list[Any]:
    from mgc_iac.errors import SpecError

    try:
        check(directory)
    except SpecError as exc:
        return list(exc.diagnostics.errors)
    raise AssertionError("the stack was accepted")


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
    assert "`command` is missing; add `command:` here (or `http:` for an HTTP check)" in text


def test_bad_checks_and_window_fields_are_explained_in_their_own_words(make_stack, base) -> None:
    """A typo in a check is reported against the shape it was meant as (not both), and a window's start or an
    HTTP check's URL is not called "a valid name"; an unquoted 22:00 (YAML 1.1's number 1320) gets "22:00"."""
    base["workflows"][0]["validation"] = {"checks": [{"name": "app", "cmd": "systemctl is-active app"},
                                                     {"name": "web", "http": "localhost/x", "expect_staus": 200}]}
    base["workflows"][0]["cutover_window"] = {"days": ["sat"], "start": "25:00", "duration": "4h"}
    found = {(d.path, d.message, d.fix) for d in schema_errors(make_stack(base))}
    paths = sorted(p for p, _, _ in found)
    assert paths == ["workflows[0].cutover_window.start",
                     "workflows[0].validation.checks[0].CommandCheck.cmd",
                     "workflows[0].validation.checks[0].CommandCheck.command",
                     "workflows[0].validation.checks[1].HttpCheck.expect_staus",
                     "workflows[0].validation.checks[1].HttpCheck.http"], found
    fixes = {p: (m, f) for p, m, f in found}
    assert fixes["workflows[0].validation.checks[0].CommandCheck.cmd"][1] == "did you mean `command`?"
    assert fixes["workflows[0].validation.checks[1].HttpCheck.expect_staus"][1] == "did you mean `expect_status`?"
    assert fixes["workflows[0].validation.checks[1].HttpCheck.http"][0] == "'localhost/x' is not an http(s) URL"
    assert fixes["workflows[0].cutover_window.start"] == (
        "'25:00' is not a time of day", 'write 24-hour HH:MM in quotes, e.g. start: "22:00"')

    base["workflows"][0]["validation"] = {}
    directory = make_stack(base)
    stack = directory / "stack.yaml"
    stack.write_text(stack.read_text().replace("start: '25:00'", "start: 22:00"))
    [err] = schema_errors(directory)
    assert err.message == "YAML read this as the number 1320, not as text" and 'start: "22:00"' in err.fix
