"""NO_COLOR, `--no-color` and a non-terminal are honoured by every command (issue 22, point 5): run on a real
terminal (util-linux `script` gives the command a pty), the output has no ANSI escape with either switch, and
has colour without them (so the check can fail)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if shutil.which("script") is None:  # pragma: no cover - util-linux is on every Debian/Ubuntu
    pytest.skip("no `script` to give the command a terminal", allow_module_level=True)

ESC = "\x1b["


def _on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    command = shlex.join([sys.executable, "-m", "mgc_iac", *args])
    done = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300, stdin=subprocess.DEVNULL)
    return done.stdout


def _commands(stack: Path, tmp_path: Path) -> list[list[str]]:
    return [["validate", str(stack)], ["plan", str(stack)], ["status", str(stack)], ["init", str(tmp_path / "n")],
            ["schema", "stack"], ["--help"]]


def test_no_color_and_the_flag_strip_every_escape_on_a_terminal(demo_stack, tmp_path):
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI")}
    base.update(MGC_IAC_STATE=str(tmp_path / "state.db"), TERM="xterm-256color", MGC_IAC_NEW_STATE="1")
    coloured = _on_a_terminal(["plan", str(demo_stack)], base, tmp_path)
    assert ESC in coloured  # a terminal gets colour by default: the checks below can fail
    for env, flag in (({**base, "NO_COLOR": "1"}, []), (base, ["--no-color"])):
        for args in _commands(demo_stack, tmp_path):
            shutil.rmtree(tmp_path / "n", ignore_errors=True)
            out = _on_a_terminal([*flag, *args], env, tmp_path)
            assert out.strip(), args
            assert ESC not in out, (flag, args, out[:400])


def test_not_a_terminal_gets_no_colour(demo_stack, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["MGC_IAC_STATE"] = str(tmp_path / "state.db")
    for args in _commands(demo_stack, tmp_path):
        shutil.rmtree(tmp_path / "n", ignore_errors=True)
        done = subprocess.run([sys.executable, "-m", "mgc_iac", *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=300)
        assert ESC not in done.stdout + done.stderr, args
