"""The `--format json` documents (issue 22, point 5) fit the schemas committed in schemas/output: built from
the real result types (a stack's diagnostics, the engine's ApplyResult, journal entries, discovery results)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from mgc_iac.engine.result import ApplyResult, Waiting
from mgc_iac.operations._planning import check
from mgc_iac.render import documents
from mgc_iac.state.model import JournalEntry

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "output"


def _valid(document: dict) -> dict:
    schema = json.loads((SCHEMAS / f"{document['kind']}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    errors = sorted(Draft202012Validator(schema).iter_errors(document), key=str)
    assert not errors, [e.message for e in errors]
    assert json.loads(documents.dumps(document)) == json.loads(json.dumps(document, default=str))
    return document


def test_every_output_schema_is_a_valid_schema_named_by_its_kind():
    kinds = sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))
    assert kinds == ["apply-event", "apply-result", "approval", "approval-check", "discovery", "error", "journal",
                     "lab-messages", "status", "status-change", "validation"]
    for kind in kinds:
        schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
        Draft202012Validator.check_schema(schema)
        assert schema["properties"]["kind"] == {"const": kind}


def test_validation_of_a_good_and_a_broken_stack(demo_stack):
    checked = check(demo_stack)
    good = _valid(documents.validation("demo", checked.diagnostics, 1, 2))
    assert good["valid"] and good["errors"] == 0
    (demo_stack / "workflows.yaml").write_text((demo_stack / "workflows.yaml").read_text()
                                              .replace("migration_port: 22", "migration_port: 23"))
    broken = _valid(documents.validation("demo", check(demo_stack).diagnostics, 1, 2))
    assert not broken["valid"] and broken["errors"] >= 1
    first = next(d for d in broken["diagnostics"] if d["severity"] == "error")
    assert first["file"].endswith("workflows.yaml") and first["line"] and "migration_port" in first["path"]


def test_apply_result_and_events():
    result = ApplyResult("demo", "sha256:" + "a" * 64, done=["wf/web-01/CreateTarget"],
                         waiting=[Waiting("wf/web-01/BusinessValidation", "needs 1 approver(s)")],
                         queued={"wf/db-01": 2}, approve_digest="sha256:" + "a" * 64)
    doc = _valid(documents.apply_result("demo", result))
    assert doc["exit_code"] == 3 and doc["waiting"][0]["gate"].endswith("BusinessValidation")
    assert _valid(documents.apply_result("demo", None, nothing_to_apply=True))["exit_code"] == 0
    failed = ApplyResult("demo", "sha256:" + "b" * 64, failed={"wf/db-01/CreateTarget": "quota exceeded"})
    assert _valid(documents.apply_result("demo", failed))["exit_code"] == 1
    line = documents.dumps(_valid(documents.apply_event("step_started", gate="wf/web-01/CreateTarget", attempt=1)),
                           lines=True)
    assert "\n" not in line and json.loads(line)["event"] == "step_started"
    with pytest.raises(AssertionError):  # an event the schema does not know is refused: the check can fail
        _valid(documents.apply_event("exploded", gate="x"))


def test_journal_messages_approval_discovery_and_error(tmp_path):
    entries = [JournalEntry(1, "demo", "wf/web-01/CreateTarget", "before", "2026-12-01T10:00:00Z", {"attempt": 1}),
               JournalEntry(2, "demo", "wf/web-01/CreateTarget", "after", "2026-12-01T10:00:05Z", {})]
    assert len(_valid(documents.journal("demo", entries))["entries"]) == 2
    _valid(documents.lab_messages([{"time": "2026-12-01T10:00:00Z", "topic": "urn:smn:x", "subject": "s",
                                    "message": "m"}]))

    class Refusal:
        gate, code, reason = "wf/db-01/Cutover", "not-waiting-yet", "not waiting yet"

    doc = _valid(documents.approval("alice", ["wf/web-01/Cutover"], "sha256:" + "c" * 64, True,
                                    tmp_path / "approvals.yaml", [Refusal()]))
    assert doc["recorded_in"] == "approvals-file" and doc["still_waiting"][0]["code"] == "not-waiting-yet"
    from mgc_iac.operations._discover import Discovered
    from mgc_iac.ssh.prechecks import Difference

    found = [Discovered("web-01", None, "connection refused", []),
             Discovered("db-01", None, None, [Difference("cpus", 4, 2)])]
    doc = _valid(documents.discovery("demo", found, ["fa:16:3e:00:00:01"], None))
    assert doc["sources"][1]["differences"] == [{"field": "cpus", "declared": 4, "discovered": 2}]
    from mgc_iac.diagnostics import Diagnostic, Severity

    assert _valid(documents.error("the stack is invalid", [Diagnostic(Severity.ERROR, "bad", path="x", fix="fix it")],
                                  exit_code=1))["exit_code"] == 1
    from mgc_iac.approvals.review import FileReview

    review = FileReview(("REFUSED: wf/db-01/Cutover: bad signature",), counted=0, rejected=1, stale=0)
    checked = _valid(documents.approval_check(tmp_path, "sha256:" + "c" * 64, review))
    assert not checked["ok"] and checked["rejected"] == 1 and checked["file_present"]
    assert _valid(documents.approval_check(tmp_path, "sha256:" + "c" * 64, None))["ok"]
