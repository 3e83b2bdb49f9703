"""No control character from data reaches a terminal or a page raw (issue 19): ESC sequences (colour, cursor moves,
erasing a line), OSC (the window title), BEL, a carriage return and bidi overrides, planted in every field a
renderer shows, come out escaped and visible in text, markdown, the PR comment, JSON, `show`, the HTML report,
apply's lines and live view, `lab ls`, and errors."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from mgc_iac.plan.model import Action, Drift, Plan, ResourceChange, ServerChange, StepAction, StepChange
from mgc_iac.visible import VisibleStream, json_visible, visible, visible_line

HOSTILE = "ok\x1b]0;pwned\x07\x1b[2K\x1b[1A\rgone\u202etxt.exe\x9b31m"
RAW = ("\x1b", "\x07", "\r", "\u202e", "\x9b")
POLICY = {"required_approvers": 1, "require_signatures": True, "allow_plan_author": True, "allow_advance": False,
          "signers": [f"{HOSTILE} ssh-ed25519 AAAA"], "source": f"the stack at {HOSTILE}"}
REPO = Path(__file__).resolve().parents[2]


def _raw(text: str) -> list[str]:
    return [repr(c) for c in RAW if c in text]


def _plan() -> Plan:
    change = ResourceChange("wf/web-01/target_server", "target_server", "wf", "web-01", Action.UPDATE,
                            {"name": "web-01-hw", "tags": {"owner": HOSTILE}}, {"name": "web-01-hw", "tags": {}},
                            ("tags.owner",), (f"because {HOSTILE}",))
    server = ServerChange("wf", "web-01", "web-01-hw", "linux", 1.0, 100.0, 60,
                          (StepChange("BusinessValidation", StepAction.WAIT, True, HOSTILE),))
    drift = Drift("wf/web-01/target_server", "target_server", "wf", "web-01", "tags.owner", HOSTILE, "x", "report")
    return Plan("demo", "sha256:" + "0" * 64, 1, (change,), (server,), ("wf",),
                diagnostics=({"severity": "warning", "rule": "x", "file": "stack.yaml", "line": 3, "path": "p",
                              "message": HOSTILE, "fix": HOSTILE},),
                spec={"approvals": {}}, drift=(drift,),
                policy=POLICY,
                policy_change={"current": POLICY, "proposed": POLICY, "changes": [f"signer added: {HOSTILE}"],
                               "widens": True, "gate": None})


@pytest.mark.parametrize("fmt, color", [("text", False), ("text", True), ("markdown", False), ("json", False)])
def test_every_plan_renderer_escapes_control_characters(fmt: str, color: bool):
    from mgc_iac.render import render_plan

    out = render_plan(_plan(), fmt, color=color)
    if fmt == "json":
        assert json.loads(out)["diagnostics"][0]["message"] == HOSTILE  # the data itself, kept for machines
        assert "\x9b" not in out and "\u202e" not in out  # ...written as JSON escapes
        return
    own_colours = re.compile(r"\x1b\[[0-9;]*m")  # the only sequences the renderer writes itself (color=True)
    assert _raw(own_colours.sub("", out)) == []
    for raw in ("\x07", "\r", "\u202e", "\x9b", "\x1b]", "\x1b[2K", "\x1b[1A"):
        assert raw not in out, (raw, out)
    assert "\\x1b]0;pwned\\x07" in out.replace("\\\\", "\\").replace("\\]", "]").replace("\\[", "[")


def test_the_pr_comment_and_show_escape_them(tmp_path: Path):
    from mgc_iac.plan.planfile import plan_digest, write_plan
    from mgc_iac.render.comment import pr_comment

    plan = _plan()
    body = pr_comment(plan, plan_digest(plan))
    assert "pwned" in body
    assert _raw(body) == []
    write_plan(plan, tmp_path / "plan.json")
    file = str(tmp_path / "plan.json")
    for args in (["show", file], ["show", file, "--format", "markdown"], ["show", file, "--format", "json"],
                 ["pr-comment", file]):
        done = subprocess.run([sys.executable, "-m", "mgc_iac", *args], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        assert done.returncode == 0, done.stderr
        assert _raw(done.stdout + done.stderr) == [], args
        assert "pwned" in done.stdout


def test_the_html_report_escapes_them():
    from mgc_iac.render.report import build_report, render_report
    from mgc_iac.state import Snapshot, StepRecord, StepStatus
    from mgc_iac.state.model import ApprovalRecord

    plan = _plan()
    snapshot = replace(Snapshot.empty("demo"), steps={
        "wf/web-01/BusinessValidation": StepRecord("wf", "web-01", "BusinessValidation", StepStatus.FAILED, 1,
                                                   {"error": HOSTILE, "approved_by": [HOSTILE]})})
    approvals = [ApprovalRecord("wf/web-01/BusinessValidation", HOSTILE, "sha256:" + "0" * 64, "now", "cli")]
    html = render_report(build_report(plan, snapshot, [], approvals, stack_dir="stacks/demo"))
    assert _raw(html) == [] and "\\x1b]0;pwned\\x07" in html


def test_apply_lines_and_the_live_view_escape_them(capsys: pytest.CaptureFixture[str]):
    from rich.console import Console

    from mgc_iac.cli._live import LiveView
    from mgc_iac.cli.apply_cmds import _PrintHooks

    hooks = _PrintHooks()
    hooks.step_finished("wf/web-01/StartMigration", "failed", {"error": HOSTILE})
    hooks.message(HOSTILE)
    err = capsys.readouterr().err
    assert _raw(err) == [] and "\\x1b]0;pwned\\x07" in err
    screen = io.StringIO()
    view = LiveView(_plan(), console=Console(file=screen, force_terminal=True, width=200))
    with view:
        view.step_started("wf/web-01/BusinessValidation", 1)
        view.step_finished("wf/web-01/BusinessValidation", "waiting", {"needs": HOSTILE})
        view.step_finished("wf/web-01/BusinessValidation", "failed", {"error": HOSTILE})
    drawn = screen.getvalue()
    for raw in ("\x07", "\u202e", "\x9b", "\x1b]0;", "\x1b[2K\x1b[1A\rgone"):
        assert raw not in drawn
    assert "pwned" in drawn


def test_lab_ls_escapes_what_the_lab_holds(tmp_path: Path):
    from mgc_iac.cli.lab_cmds import _cell

    assert _cell(HOSTILE) == visible_line(HOSTILE) and _raw(_cell({"k": HOSTILE, "n": [HOSTILE]})) == []


def test_errors_and_the_stream_net_escape_them(tmp_path: Path):
    stack = tmp_path / "s"
    stack.mkdir()
    (stack / "stack.py").write_text(f"raise RuntimeError({HOSTILE!r})\n")
    done = subprocess.run([sys.executable, "-m", "mgc_iac", "validate", str(stack)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 1 and _raw(done.stderr) == [] and "pwned" in done.stderr, done.stderr
    # the net: our own colours pass; anything else escaped (cursor codes too, off a terminal)
    sink = io.StringIO()
    VisibleStream(sink).write("\x1b[31mred\x1b[0m " + HOSTILE + " \x1b[8mhidden\x1b[0m")
    assert sink.getvalue().startswith("\x1b[31mred\x1b[0m ok\\x1b]0;pwned\\x07\\x1b[2K\\x1b[1A\\rgone")
    assert "\\x1b[8m" in sink.getvalue()  # concealed text is not a colour


def test_the_helpers():
    assert visible("a\nb\x1b") == "a\nb\\x1b" and visible_line("a\nb\tc") == "a\\nb\\tc"
    assert json.loads(json_visible(json.dumps(HOSTILE, ensure_ascii=False))) == HOSTILE
