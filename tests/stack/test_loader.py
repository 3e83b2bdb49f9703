"""Loading: YAML files merged, every load error with file, line, field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgc_iac.errors import SpecError
from mgc_iac.stack.loader import load_stack


def errors_of(path: Path) -> list:
    with pytest.raises(SpecError) as info:
        load_stack(path)
    return info.value.diagnostics.errors


def test_demo_stack_merges_its_files(demo_stack):
    loaded = load_stack(demo_stack)
    assert loaded.stack.metadata.name == "demo"
    assert [s.name for s in loaded.stack.sources] == ["web-01", "db-01"]
    assert {p.name for p in loaded.files} == {"stack.yaml", "sources.yaml", "workflows.yaml"}


def test_line_numbers_point_into_the_file_that_defined_the_item(demo_stack):
    text = (demo_stack / "sources.yaml").read_text().replace("cpus: 4", "cpus: four")
    (demo_stack / "sources.yaml").write_text(text)
    [err] = errors_of(demo_stack)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "cpus: four" in ln)
    assert err.file.endswith("sources.yaml") and err.line == line and err.path == "sources[1].cpus"


def test_malformed_yaml_reports_its_line(make_stack, tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "stack.yaml").write_text("metadata:\n  name: x\n  project: [unclosed\nsources: []\n")
    [err] = errors_of(d)
    assert err.rule == "yaml" and err.line in (3, 4, 5) and "malformed YAML" in err.message


def test_unknown_field_suggests_the_closest(make_stack, base):
    base["workflows"][0]["target"]["flavour"] = "s6.large.2"
    [err] = errors_of(make_stack(base))
    assert err.path == "workflows[0].target.flavour" and "did you mean `flavor`?" in err.fix
    assert err.line is not None


def test_wrong_type_and_missing_field(make_stack, base):
    base["sources"][0]["cpus"] = "two"
    del base["sources"][1]["ip"]
    errs = {e.path: e for e in errors_of(make_stack(base))}
    assert "wrong type" in errs["sources[0].cpus"].message
    assert "required field `ip` is missing" in errs["sources[1].ip"].message


def test_bad_mac_and_bad_name(make_stack, base):
    base["sources"][0]["mac"] = "fa:16:3e:00:00"
    base["sources"][1]["name"] = "DB 01"
    errs = {e.path: e for e in errors_of(make_stack(base))}
    assert "MAC" in errs["sources[0].mac"].message
    assert "not a valid name" in errs["sources[1].name"].message


def test_key_defined_in_two_files(make_stack, base, tmp_path):
    d = make_stack(base)
    (d / "more.yaml").write_text("metadata: {name: other, project: p}\n")
    [err] = errors_of(d)
    assert err.rule == "merge" and "more.yaml" in err.message and err.file.endswith("stack.yaml")


def test_empty_directory_and_empty_files(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no stack files" in errors_of(tmp_path / "empty")[0].message
    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "stack.yaml").write_text("# nothing yet\n")
    assert "empty" in errors_of(tmp_path / "blank")[0].message


def test_top_level_must_be_a_mapping(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "stack.yaml").write_text("- a\n- b\n")
    assert "mapping" in errors_of(tmp_path / "s")[0].message


def test_python_and_yaml_in_one_directory_is_refused(demo_stack):
    (demo_stack / "stack.py").write_text("stack = None\n")
    assert "both stack.py and YAML" in errors_of(demo_stack)[0].message


def test_approvals_and_lab_seed_are_not_spec_files(demo_stack):
    (demo_stack / "approvals.yaml").write_text("approvals: []\n")
    (demo_stack / "lab-seed.yaml").write_text("cloud: {}\n")
    assert load_stack(demo_stack).stack.metadata.name == "demo"


def test_a_single_file_can_be_loaded(demo_stack, tmp_path):
    single = tmp_path / "single"
    single.mkdir()
    merged = "".join((demo_stack / f).read_text() for f in ("stack.yaml", "sources.yaml", "workflows.yaml"))
    (single / "all.yaml").write_text(merged)
    assert load_stack(single / "all.yaml").digest == load_stack(demo_stack).digest


def test_python_stack_error_points_at_its_line(tmp_path):
    d = tmp_path / "py"
    d.mkdir()
    (d / "stack.py").write_text("from mgc_iac import Stack, Metadata\n\nstack = Stack(metadata=Metadata(name='x'))\n")
    [err] = errors_of(d)
    assert err.file.endswith("stack.py") and err.line == 3 and "project" in err.message


def test_python_stack_must_define_stack(tmp_path):
    d = tmp_path / "py"
    d.mkdir()
    (d / "stack.py").write_text("x = 1\n")
    assert "stack = Stack(" in errors_of(d)[0].fix


def test_missing_path(tmp_path):
    assert "no such stack" in errors_of(tmp_path / "nope")[0].message




def test_notifications_on_key_survives_yaml_1_1(make_stack, base):
    base["workflows"][0]["advanced"]["notifications"] = {"topic_urn": "urn:smn:cn-north-4:p:t", "on": ["failed"]}
    d = make_stack(base)
    text = (d / "stack.yaml").read_text()
    assert "'on':" in text  # PyYAML quotes it; a person writes it bare, which YAML 1.1 reads as `true`
    (d / "stack.yaml").write_text(text.replace("'on':", "on:"))
    note = load_stack(d).stack.workflows[0].advanced.notifications
    assert note is not None and note.on == ["failed"]
