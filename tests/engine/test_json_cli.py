"""`--format json` of apply, status, approve, `state journal` and `lab messages` on a real lab (background process,
instant transfers), through the real console entry (`python -m mgc_iac`): stdout holds only documents that the
committed schemas (schemas/output) accept, apply streams events then ends with its result, and a failure is one
`error` document with the same exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "output"


def valid(document: dict[str, Any]) -> dict[str, Any]:
    schema = json.loads((SCHEMAS / f"{document['kind']}.schema.json").read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(document)]
    assert not errors, (document["kind"], errors)
    return document


def mgc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mgc_iac", *args], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=300)


def document(out: subprocess.CompletedProcess[str], kind: str) -> dict[str, Any]:
    """stdout is exactly one JSON document of `kind` (nothing else: human lines are on stderr)."""
    doc = valid(json.loads(out.stdout))
    assert doc["kind"] == kind, (doc, out.stderr)
    return doc


def stream(out: subprocess.CompletedProcess[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """apply's stdout: JSON lines, every one valid, the last one its result (or an error)."""
    lines = [valid(json.loads(line)) for line in out.stdout.splitlines()]
    assert lines, out.stderr
    *events, last = lines
    assert all(e["kind"] == "apply-event" for e in events)
    return events, last


def test_apply_approve_status_journal_and_messages_as_json(stack_dir: Path, lab_dir: Path) -> None:
    out = mgc("apply", str(stack_dir), "--format", "json")  # a stack with changes: json never asks
    _, last = stream(out)
    assert out.returncode == 1 and last["kind"] == "error" and "--auto-approve" in last["message"]

    out = mgc("apply", str(stack_dir), "--auto-approve", "--format", "json")
    events, result = stream(out)
    assert out.returncode == 3 == result["exit_code"], out.stderr
    assert result["kind"] == "apply-result" and result["stack"] == "demo" and not result["nothing_to_apply"]
    assert {w["gate"] for w in result["waiting"]} == {"shop-wave-1/web-01/BusinessValidation",
                                                      "shop-wave-1/db-01/BusinessValidation"}
    assert result["approve_digest"].startswith("sha256:") and result["environment_id"]
    started = {e["gate"] for e in events if e["event"] == "step_started"}
    finished = {e["gate"] for e in events if e["event"] == "step_finished" and e["status"] == "done"}
    assert "shop-wave-1/web-01/CreateTarget" in started and set(result["done"]) <= finished
    assert "> shop-wave-1/web-01/CreateTarget" in out.stderr  # the human lines, beside the stream

    status = document(mgc("status", str(stack_dir), "--format", "json"), "status")
    assert {(s["server"], s["state"]) for s in status["workflows"][0]["servers"]} == {("web-01", "waiting"),
                                                                                      ("db-01", "waiting")}

    checked = mgc("approve", str(stack_dir), "--check", "--format", "json")
    assert checked.returncode == 0 and not document(checked, "approval-check")["file_present"]
    out = mgc("approve", str(stack_dir), "--all-waiting", "--by", "alice", "--format", "json")
    approval = document(out, "approval")
    assert out.returncode == 0 and approval["approver"] == "alice" and not approval["signed"]
    assert approval["digest"] == result["approve_digest"] and approval["recorded_in"] == "state"
    assert sorted(approval["gates"]) == sorted(w["gate"] for w in result["waiting"])

    out = mgc("approve", str(stack_dir), "--gate", "shop-wave-1/web-01/Nope", "--by", "alice", "--format", "json")
    refused = document(out, "error")
    assert out.returncode == 1 == refused["exit_code"] and "Nope" in refused["message"]

    journal = document(mgc("state", "journal", str(stack_dir), "--limit", "500", "--format", "json"), "journal")
    assert {"before", "after"} <= {e["phase"] for e in journal["entries"]}
    assert [e["seq"] for e in journal["entries"]] == sorted(e["seq"] for e in journal["entries"])

    messages = document(mgc("lab", "messages", "--format", "json"), "lab-messages")
    assert any("BusinessValidation" in (m["subject"] or "") + (m["message"] or "") for m in messages["messages"])

    out = mgc("apply", str(stack_dir), "--auto-approve", "--format", "json")
    _, result = stream(out)
    assert out.returncode == 3 == result["exit_code"]
    assert {w["gate"].rsplit("/", 1)[1] for w in result["waiting"]} == {"Cutover"}


def test_apply_of_an_edited_plan_file_is_an_error_document(stack_dir: Path, lab_dir: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    assert mgc("plan", str(stack_dir), "--out", str(plan_file)).returncode == 0
    doc = json.loads(plan_file.read_text())
    doc["summary"]["create"] = 0  # what an edited proposal looks like
    plan_file.write_text(json.dumps(doc))
    out = mgc("apply", str(plan_file), "--format", "json")
    events, last = stream(out)
    assert out.returncode == 1 == last["exit_code"] and last["kind"] == "error" and events == []
    assert last["message"] in out.stderr
