"""`--format json` without a cloud (validate, plan, show, status, state journal, schema), through the real console
entry: stdout holds one document the committed schema accepts and nothing else; a failure is one `error` document
with the exit code the command exits with; --help says what the JSON holds and where its schema is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mgc_iac.cli.stack_cmds import OUTPUT_KINDS

ROOT = Path(__file__).resolve().parents[1]


def mgc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mgc_iac", *args], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=120)


def valid(text: str, schema_file: str | None = None) -> dict[str, Any]:
    document = json.loads(text)  # the whole of stdout: one document, nothing before or after it
    path = ROOT / "schemas" / (schema_file or f"output/{document['kind']}.schema.json")
    errors = [e.message for e in Draft202012Validator(json.loads(path.read_text())).iter_errors(document)]
    assert not errors, errors
    return document


def test_validate_a_good_and_a_broken_stack(demo_stack: Path) -> None:
    out = mgc("validate", str(demo_stack), "--format", "json")
    doc = valid(out.stdout)
    assert out.returncode == 0 and doc["kind"] == "validation" and doc["valid"]
    assert (doc["workflows"], doc["sources"], doc["errors"]) == (1, 2, 0)
    workflows = demo_stack / "workflows.yaml"
    workflows.write_text(workflows.read_text().replace("migration_port: 22", "migration_port: 23"))
    out = mgc("validate", str(demo_stack), "--format", "json")
    doc = valid(out.stdout)
    assert out.returncode == 1 and not doc["valid"] and doc["errors"] >= 1
    bad = next(d for d in doc["diagnostics"] if d["severity"] == "error")
    assert bad["file"].endswith("workflows.yaml") and bad["line"] and "migration_port" in bad["path"] and bad["fix"]
    assert "error:" not in out.stdout and out.stderr == ""


def test_a_stack_that_does_not_load_is_an_error_document(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("apiVersion: mgc-iac/v1\nkind: Stack\nmetadata: [oops\n")
    for command in ("validate", "plan", "status"):
        out = mgc(command, str(tmp_path / "stack.yaml"), "--format", "json")
        doc = valid(out.stdout)
        assert out.returncode == 1 == doc["exit_code"] and doc["kind"] == "error", command
        assert doc["diagnostics"] and doc["diagnostics"][0]["file"].endswith("stack.yaml")
        assert "error" in out.stderr  # the human text is still there, on stderr


def test_a_usage_error_is_an_error_document_even_before_the_format_is_read(demo_stack: Path) -> None:
    out = mgc("plan", str(demo_stack), "--bogus", "--format", "json")
    doc = valid(out.stdout)
    assert out.returncode == 1 == doc["exit_code"] and "--bogus" in doc["message"]
    out = mgc("plan", str(demo_stack), "--bogus")  # text: nothing on stdout
    assert out.returncode == 1 and out.stdout == ""


def test_plan_show_status_and_journal(demo_stack: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    out = mgc("plan", str(demo_stack), "--format", "json", "--no-cost", "--out", str(plan_file))
    plan = valid(out.stdout, "plan.schema.json")
    assert out.returncode == 0 and plan["stack"] == "demo" and plan["summary"]["create"] > 0
    assert valid(mgc("show", str(plan_file), "--format", "json").stdout, "plan.schema.json") == plan
    plan_file.write_text(plan_file.read_text().replace('"demo"', '"edited"', 1))
    out = mgc("show", str(plan_file), "--format", "json")
    assert out.returncode == 1 and valid(out.stdout)["kind"] == "error"

    status = valid(mgc("status", str(demo_stack), "--format", "json").stdout)
    assert status["kind"] == "status" and status["environment_id"] is None
    assert {s["state"] for wf in status["workflows"] for s in wf["servers"]} == {"pending"}
    out = mgc("status", str(demo_stack), "--watch", "--format", "json")  # nothing runs: one read, then it ends
    moved = [valid(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and {(m["kind"], m["server"], m["state"]) for m in moved} == {
        ("status-change", "shop-wave-1/web-01", "pending"), ("status-change", "shop-wave-1/db-01", "pending")}
    journal = valid(mgc("state", "journal", str(demo_stack), "--format", "json").stdout)
    assert journal == {"kind": "journal", "version": 1, "stack": "demo", "entries": []}


def test_schema_prints_every_output_schema() -> None:
    files = sorted(p.name.removesuffix(".schema.json") for p in (ROOT / "schemas" / "output").glob("*.json"))
    assert sorted(OUTPUT_KINDS) == files
    for kind in OUTPUT_KINDS:
        out = mgc("schema", kind)
        assert out.returncode == 0 and json.loads(out.stdout)["properties"]["kind"] == {"const": kind}


@pytest.mark.parametrize(("command", "schema"), [
    (("validate",), "validation"), (("apply",), "apply-result"), (("approve",), "approval-check"),
    (("status",), "status"), (("state", "journal"), "journal"), (("lab", "messages"), "lab-messages"),
    (("discover",), "discovery"), (("plan",), "plan.schema.json"), (("show",), "plan.schema.json")])
def test_help_says_what_the_json_holds(command: tuple[str, ...], schema: str) -> None:
    text = " ".join(mgc(*command, "--help").stdout.split())
    assert "--format" in text and schema in text and "error.schema.json" in text
