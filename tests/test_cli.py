"""The command line as a user and a CI pipeline meet it: exit codes, messages, files written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def mgc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "mgc_iac", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=60)


def test_help_lists_the_commands():
    out = mgc("--help")
    assert out.returncode == 0
    for command in ("init", "validate", "plan", "show", "schema"):
        assert command in out.stdout


def test_validate_the_demo(demo_stack):
    out = mgc("validate", str(demo_stack))
    assert out.returncode == 0 and "is valid" in out.stdout


def test_validate_reports_file_line_field_and_fix_without_traceback(demo_stack):
    wf = demo_stack / "workflows.yaml"
    wf.write_text(wf.read_text().replace("migration_port: 22", "migration_port: 445"))
    before = {p: p.read_bytes() for p in demo_stack.rglob("*") if p.is_file()}
    out = mgc("validate", str(demo_stack))
    assert out.returncode == 1
    assert "workflows.yaml:" in out.stderr
    assert "workflows[0].migration_port: port 445 is reserved by Windows services; use 22 or a free port in " \
           "10000-65535" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert {p: p.read_bytes() for p in demo_stack.rglob("*") if p.is_file()} == before  # validation changes nothing


def test_malformed_yaml_is_a_user_error(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "stack.yaml").write_text("metadata: {name: x\n")
    out = mgc("validate", str(tmp_path / "s"))
    assert out.returncode == 1 and "malformed YAML" in out.stderr and "Traceback" not in out.stderr


def test_usage_error_exits_1():
    out = mgc("plan")
    assert out.returncode == 1 and "Missing argument" in out.stderr


def test_init_scaffolds_a_stack_that_validates_and_plans(tmp_path):
    target = tmp_path / "stacks" / "new"
    out = mgc("init", str(target))
    assert out.returncode == 0, out.stderr
    assert mgc("validate", str(target)).returncode == 0
    assert mgc("init", str(target)).returncode == 1  # never overwrites


def test_plan_detailed_exitcode(demo_stack):
    assert mgc("plan", str(demo_stack)).returncode == 0
    assert mgc("plan", str(demo_stack), "--detailed-exitcode").returncode == 2


def test_plan_out_then_show(demo_stack, tmp_path):
    plan_file = tmp_path / "plan.json"
    out = mgc("plan", str(demo_stack), "--out", str(plan_file))
    assert out.returncode == 0, out.stderr
    body = json.loads(plan_file.read_text())
    assert body["digest"] in out.stdout
    shown = mgc("show", str(plan_file))
    assert shown.returncode == 0 and "5 to create" in shown.stdout
    as_json = json.loads(mgc("show", str(plan_file), "--format", "json").stdout)
    assert as_json["digest"] == body["digest"]


def test_show_refuses_an_edited_plan(demo_stack, tmp_path):
    plan_file = tmp_path / "plan.json"
    mgc("plan", str(demo_stack), "--out", str(plan_file))
    body = json.loads(plan_file.read_text())
    body["state_serial"] = 7
    plan_file.write_text(json.dumps(body))
    out = mgc("show", str(plan_file))
    assert out.returncode == 1 and "edited after it was made" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("fmt, marker", [("markdown", "```mermaid"), ("json", '"format_version"')])
def test_plan_formats(demo_stack, fmt, marker):
    out = mgc("plan", str(demo_stack), "--format", fmt)
    assert out.returncode == 0 and marker in out.stdout


def test_schema_command_prints_json_schema():
    out = mgc("schema", "stack")
    assert out.returncode == 0 and json.loads(out.stdout)["title"] == "mgc-iac stack spec"
