"""The live view of `apply` in a real terminal (tmux), and Ctrl-C: a clean terminal, exit 130, a consistent
journal. Plain mode (no terminal) keeps its lines and exits 130 on SIGINT too."""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mgc_iac.state import StepStatus, open_store

from .helpers import Demo, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by ./dev.sh setup")

HEADER = re.compile(r"^server\s+step\s+progress\s+copied\s+speed\s+eta\s+state\s*$", re.M)


class Terminal:
    """One tmux server of its own (own socket), one 160x40 window running a shell script."""

    def __init__(self, tmp: Path, name: str) -> None:
        self.socket = str(tmp / f"tmux-{name}.sock")
        self.name = name

    def tmux(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=20)
        return out.stdout

    def start(self, script: Path) -> None:
        subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", self.name,
                        "-x", "160", "-y", "40", f"bash {shlex.quote(str(script))}"], check=True, timeout=20)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def history(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.name)

    def cursor_visible(self) -> bool:
        return self.tmux("display-message", "-p", "-t", self.name, "#{cursor_flag}").strip() == "1"

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=20)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path, "live")
    try:
        yield term
    finally:
        term.close()


def _script(demo: Demo, tmp: Path, *args: str) -> Path:
    """A bash script that runs mgc-iac with the demo's environment (colour on, the pane's own size) and prints
    its exit code (bash, not sh: on Ctrl-C bash waits for its child, dash would end with it)."""
    env = {k: v for k, v in demo.env.items() if k.startswith(("MGC_IAC_", "PYTHONPATH", "PATH", "HOME"))}
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    script = tmp / "run.sh"
    script.write_text(f"{exports}unset CI NO_COLOR COLUMNS LINES\nexport TERM=tmux-256color\n"
                      f"cd {shlex.quote(str(tmp))}\n"
                      f"{shlex.quote(sys.executable)} -m mgc_iac {' '.join(shlex.quote(a) for a in args)}\n"
                      "echo EXIT=$?\nsleep 600\n")
    return script


def _exit_code(term: Terminal, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while not (found := re.search(r"^EXIT=(\d+)$", term.history(), re.M)):
        assert time.monotonic() < deadline, f"no exit in {timeout} s:\n{term.screen()}"
        time.sleep(0.2)
    return int(found.group(1))


def test_the_demo_shows_a_live_view_that_updates_and_leaves_summary_lines(demo: Demo, terminal: Terminal,
                                                                          tmp_path: Path) -> None:
    seed = demo.stack / "lab-seed.yaml"  # db-01 holds ten times the files: web-01 waits at its gate while db-01 copies
    seed.write_text(seed.read_text().replace("files: {count: 200,", "files: {count: 2000,"))
    terminal.start(_script(demo, tmp_path, "demo", "--stack", str(demo.stack), "--workdir", str(tmp_path / "work")))
    frames: list[str] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and "EXIT=" not in (screen := terminal.screen()):
        if HEADER.search(screen) and (not frames or frames[-1] != screen):
            frames.append(screen)
        time.sleep(0.15)
    assert _exit_code(terminal, 30) == 0, terminal.history()[-3000:]
    assert len(frames) >= 3, f"the live view did not appear or never changed: {terminal.history()[-2000:]}"
    rows = "\n".join(frames)
    # a row per running server, with its step, and the copy step's figures from the SMS task
    # (the demo rehearses the cutover: 12 steps with TestLaunch, TestValidation, TestCleanup)
    assert re.search(r"^shop-wave-1/web-01\s+CreateTarget \(1/12\)\s.*running \d+ s", rows, re.M)
    assert re.search(r"^shop-wave-1/db-01\s+Start(Migration \(3|Synchronization \(4)/12\)\s.*\d+%\s+[\d.]+ [kMG]?B"
                     r"( / [\d.]+ [kMG]?B)?", rows, re.M), rows
    assert re.search(r"⏸ gate waiting: needs 1 approval", rows)
    history = terminal.history()
    # finished servers left one line each; the live table itself is gone from the terminal
    assert "⏸ shop-wave-1/web-01 waits at TestValidation: needs 1 approval(s); checks: 1 of 1 passed" in history
    assert "⏸ shop-wave-1/web-01 waits at BusinessValidation: needs 1 approval(s)" in history
    assert "⏸ shop-wave-1/db-01 waits at Cutover: needs 1 approval(s)" in history
    assert re.search(r"✓ shop-wave-1/web-01: 3 step\(s\) done in \d+ s", history)
    assert not HEADER.search(history)
    assert terminal.cursor_visible()
    # the demo ends with the notifications the lab received, by subject
    last = history[history.index("$ mgc-iac lab messages"):]
    assert [m.group(1) for m in re.finditer(r"migration-events  (\[mgc-iac\] .+)$", last, re.M)] == [
        "[mgc-iac] shop-wave-1: waiting for manual confirmation"] * 3 + ["[mgc-iac] shop-wave-1: migration succeeded"]


def test_ctrl_c_in_the_live_view_leaves_a_clean_terminal_exit_130_and_a_consistent_journal(
        demo: Demo, terminal: Terminal, tmp_path: Path) -> None:
    terminal.start(_script(demo, tmp_path, "apply", str(demo.stack), "--auto-approve"))
    wait_for(lambda: re.search(r"^shop-wave-1/web-01\s+Start", terminal.screen(), re.M), timeout=120, every=0.1)
    assert not terminal.cursor_visible()  # rich hides it while it draws
    terminal.tmux("send-keys", "-t", terminal.name, "C-c")
    assert _exit_code(terminal, 60) == 130
    history = terminal.history()
    assert "Interrupted: the journal is consistent; apply again to resume." in history
    assert re.search(r"! shop-wave-1/web-01 interrupted in Start\w+ \(it runs again on the next apply\)", history)
    assert not HEADER.search(history) and "Traceback" not in history
    assert terminal.cursor_visible()
    _journal_is_consistent(demo)


def test_sigint_in_plain_mode_exits_130_with_the_plain_lines(demo: Demo) -> None:
    proc = demo.popen("apply", str(demo.stack), "--auto-approve")
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("  > shop-wave-1/web-01/StartUpAgent"):
            break
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(lines) + out
    assert "  - shop-wave-1/web-01/CreateTarget: done\n" in "".join(lines)
    assert "Interrupted: the journal is consistent; apply again to resume." in out
    _journal_is_consistent(demo)


def _journal_is_consistent(demo: Demo) -> None:
    """No lock left; each interrupted step is RUNNING with 'before' then 'interrupted' as its last entries."""
    store = open_store(Path(demo.env["MGC_IAC_STATE"]))
    try:
        assert store.lock_info("demo") is None
        running = [g for g, r in store.snapshot("demo").steps.items() if r.status is StepStatus.RUNNING]
        assert running
        entries = store.journal("demo", 1000)
        for gate in running:
            phases = [e.phase for e in entries if e.address == gate]
            assert phases[-2:] == ["before", "interrupted"], (gate, phases)
    finally:
        store.close()
