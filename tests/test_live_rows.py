"""The rows of apply's live view, fed the engine's hook events as an apply sends them (the real terminal is
tests/e2e/test_live_view.py): figures from the SMS task, queue positions moving up, gates, summary lines."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from mgc_iac.cli._live import LiveView, live_wanted
from mgc_iac.operations._planning import plan_stack

DEMO = Path(__file__).resolve().parents[1] / "stacks" / "demo"
WEB, DB = "shop-wave-1/web-01", "shop-wave-1/db-01"


@pytest.fixture
def view(tmp_path: Path) -> tuple[LiveView, io.StringIO]:
    plan = plan_stack(shutil.copytree(DEMO, tmp_path / "demo")).plan
    out = io.StringIO()
    return LiveView(plan, Console(file=out, width=200, color_system=None, force_terminal=False)), out


def _frame(view: LiveView) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(view._render())
    return buffer.getvalue()


def _row(frame: str, address: str) -> str:
    return next(line for line in frame.splitlines() if line.startswith(address))


def test_rows_show_step_progress_bytes_speed_eta_queue_and_gates(view: tuple[LiveView, io.StringIO]) -> None:
    live, out = view
    live.step_finished(f"{DB}/CreateTarget", "queued", {"queue_position": 2})
    live.step_started(f"{WEB}/CreateTarget", 1)
    frame = _frame(live)
    assert "CreateTarget (1/9)" in _row(frame, WEB) and "running 0 s" in _row(frame, WEB)
    assert "queued #2" in _row(frame, DB)

    live.step_finished(f"{WEB}/CreateTarget", "done", {})
    live.step_started(f"{WEB}/StartMigration", 1)
    live.step_progress(f"{WEB}/StartMigration", {"state": "RUNNING", "percent": 40, "replicated_bytes": 4_000_000,
                                                 "total_bytes": 10_000_000, "speed_mbps": 16.0,
                                                 "remain_seconds": 0})
    row = _row(_frame(live), WEB)
    # 16 Mbit/s = 2 MB/s; 6 MB left -> 3 s
    assert "StartMigration (3/9)" in row and "40%" in row and "4.0 MB / 10.0 MB" in row
    assert "2.0 MB/s" in row and "3 s" in row and "running" in row

    live.step_progress(f"{WEB}/StartMigration", {"state": "RUNNING", "percent": 90, "replicated_bytes": 9_000_000,
                                                 "total_bytes": 10_000_000, "speed_mbps": 8.0,
                                                 "remain_seconds": 7200})
    row = _row(_frame(live), WEB)
    assert "90%" in row and "1.0 MB/s" in row and "2 h" in row  # SMS's own remaining time wins
    live.step_finished(f"{WEB}/StartMigration", "done", {"replicated_bytes": 9_000_000})

    live.step_started(f"{DB}/CreateTarget", 1)  # the queue moved: db-01 got a slot
    assert "running" in _row(_frame(live), DB)
    live.step_finished(f"{WEB}/BusinessValidation", "waiting", {"needs": "1 approval(s)"})
    assert "⏸ gate waiting: needs 1 approval(s)" in _row(_frame(live), WEB)
    live.step_finished(f"{DB}/CreateTarget", "failed", {"error": "[mgc-iac] prechecks failed on db-01"})
    frame = _frame(live)
    assert DB not in frame  # a failed server leaves the view for one line, its error shown as it is
    assert "✗ shop-wave-1/db-01 failed at CreateTarget: [mgc-iac] prechecks failed on db-01" in out.getvalue()
    live.__exit__(None, None, None)
    assert "⏸ shop-wave-1/web-01 waits at BusinessValidation: needs 1 approval(s)" in out.getvalue()


def test_a_server_that_completes_leaves_one_summary_line(view: tuple[LiveView, io.StringIO]) -> None:
    live, out = view
    steps = ("CreateTarget", "StartUpAgent", "StartMigration", "StartSynchronization", "VerifyConsistency",
             "BusinessValidation", "Cutover", "SourceClear", "MigrationTaskClear")
    for step in steps:
        live.step_started(f"{WEB}/{step}", 1)
        if step == "StartMigration":
            live.step_progress(f"{WEB}/{step}", {"percent": 100, "replicated_bytes": 75_100_000,
                                                 "total_bytes": 75_100_000})
        live.step_finished(f"{WEB}/{step}", "done", {})
    assert WEB not in _frame(live)
    lines = [ln for ln in out.getvalue().splitlines() if WEB in ln]
    assert len(lines) == 1 and lines[0].startswith(f"✓ {WEB}: 9 step(s) done in ") and "75.1 MB copied" in lines[0]


def test_plain_lines_outside_a_terminal_in_ci_or_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    assert live_wanted(False, Tty()) is True
    assert live_wanted(True, Tty()) is False  # --no-progress
    assert live_wanted(False, io.StringIO()) is False  # not a terminal
    monkeypatch.setenv("CI", "true")
    assert live_wanted(False, Tty()) is False


def test_a_big_apply_shows_what_fits_and_counts_the_rest(tmp_path: Path) -> None:
    from dataclasses import replace

    plan = plan_stack(shutil.copytree(DEMO, tmp_path / "demo")).plan
    one = plan.server_changes[0]
    big = replace(plan, server_changes=tuple(replace(one, server=f"srv-{i:03d}") for i in range(200)))
    live = LiveView(big, Console(file=io.StringIO(), width=200, height=30, color_system=None))
    for i in range(200):
        gate = f"shop-wave-1/srv-{i:03d}/CreateTarget"
        if i < 150:
            live.step_started(gate, 1)
        else:
            live.step_finished(gate, "queued", {"queue_position": i - 149})
    frame = _frame(live)
    assert sum(line.startswith("shop-wave-1/srv-") for line in frame.splitlines()) == 27  # 30 lines - 3
    assert "and 173 more server(s): 123 running, 50 queued" in frame


def test_an_endpoint_pushing_back_is_one_line_under_the_rows_until_it_answers(view: tuple[LiveView, io.StringIO]
                                                                             ) -> None:
    live, _ = view
    live.step_started(f"{WEB}/StartUpAgent", 1)
    text = "SMS throttled (429, APIGW.0308); next try in 8 s; 3 servers waiting on it"
    live.api_pressure("sms http://127.0.0.1:1", text)
    frame = _frame(live)
    assert f"! {text}" in frame and frame.index(WEB) < frame.index(text)
    live.api_pressure("sms http://127.0.0.1:1", None)
    assert "throttled" not in _frame(live)


def test_plain_lines_say_when_an_endpoint_pushes_back_and_when_it_answers_again(capsys: pytest.CaptureFixture
                                                                                 ) -> None:
    from mgc_iac.cli.apply_cmds import _PrintHooks

    hooks = _PrintHooks()
    text = "SMS throttled (429, APIGW.0308); next try in 8 s; 3 servers waiting on it"
    hooks.api_pressure("sms http://127.0.0.1:1", text)
    hooks.api_pressure("sms http://127.0.0.1:1", text.replace("8 s", "7 s"))   # within 30 s: not again
    hooks.api_pressure("sms http://127.0.0.1:1", None)
    assert capsys.readouterr().err.splitlines() == [f"  ! {text}", "  ! SMS answers again"]


def test_at_80_columns_every_figure_and_the_gate_fit_by_shortening(view: tuple[LiveView, io.StringIO]) -> None:
    """An 80-column terminal: the running copy keeps percent, bytes, speed and ETA; a waiting server keeps its
    gate (⏸ and the step) and what it needs; no line is longer than the terminal."""
    live, _ = view
    live.step_started(f"{WEB}/StartMigration", 1)
    live.step_progress(f"{WEB}/StartMigration", {"state": "RUNNING", "percent": 40, "replicated_bytes": 4_000_000,
                                                 "total_bytes": 10_000_000, "speed_mbps": 16.0,
                                                 "remain_seconds": 0})
    live.step_started(f"{DB}/BusinessValidation", 1)
    live.step_finished(f"{DB}/BusinessValidation", "waiting", {"needs": "1 approval(s) (demo-reviewer)"})
    buffer = io.StringIO()
    narrow = Console(file=buffer, width=80, color_system=None)
    live.console = narrow
    narrow.print(live._render())
    frame = buffer.getvalue()
    assert all(len(line) <= 80 for line in frame.splitlines()), frame
    web, db = _row(frame, WEB), _row(frame, DB)
    assert "StartMigration" in web and "40%" in web and "4.0 MB/10.0 MB" in web and "2.0 MB/s" in web
    assert "ETA 3 s" in web
    assert "⏸ BusinessValidation" in db and "needs 1 approval(s)" in db
