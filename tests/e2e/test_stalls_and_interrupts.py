"""Issue 20 end to end, through the CLI with the real lab agent on a lab host: a START command whose answer is
lost makes the step fail as a stall (not run forever), and `retry` runs it again from a safe point; Ctrl-C at
any moment (the lab starting, the state connecting, a copy in flight) exits 130 and the next apply resumes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from .helpers import Demo, wait_for
from .test_faults import WEB, assert_migrated, mid_copy, only_web


def _settings(demo: Demo, **advanced: Any) -> None:
    demo.edit("workflows.yaml", lambda doc: doc["workflows"][0]["advanced"].update(advanced))


def test_a_lost_start_command_fails_as_a_stall_and_retry_runs_the_copy_again(demo: Demo) -> None:
    only_web(demo, files=40, mbps=None)
    _settings(demo, poll_interval="1s", stall_timeout="12s")

    def lose_the_start(doc: dict[str, Any]) -> None:
        # SMS hands the agent its START, and the answer never reaches it (the lab's fault: carried out, then lost)
        doc["cloud"]["lab"]["faults"] = [{"service": "sms", "operation": "show_command", "lost_answer_rate": 1.0,
                                          "answer_contains": "START", "count": 1}]

    demo.edit("lab-seed.yaml", lose_the_start)
    run = demo.cli("apply", str(demo.stack), "--auto-approve", "--no-progress", timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    web = demo.status()["web-01"]
    assert (web["current_step"], web["state"]) == ("StartMigration", "failed")
    assert web["error"].startswith("no progress for 12 s since ") and "task RUNNING" in web["error"], web["error"]

    retry = demo.cli("retry", str(demo.stack), WEB)
    assert retry.returncode == 0 and "StartMigration will run again" in retry.stdout, retry.stdout + retry.stderr
    run = demo.cli("apply", str(demo.stack), "--auto-approve", "--no-progress", timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr       # on to BusinessValidation
    assert_migrated(demo)


def _interrupt(demo: Demo, when: Any, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `mgc-iac apply` in its own process group and send SIGINT to the group (what Ctrl-C on a terminal
    does) once `when()` says so."""
    proc = subprocess.Popen([sys.executable, "-m", "mgc_iac", "apply", str(demo.stack), "--auto-approve",
                             "--no-progress", *args], env=env or demo.env, cwd=demo.stack.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    when()
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_while_the_cli_loads_or_the_lab_starts_exits_130(demo: Demo) -> None:
    loading = _interrupt(demo, lambda: time.sleep(0.4))        # still importing (a loaded machine: a second)
    assert loading.returncode == 130, loading.stdout + loading.stderr
    assert "Traceback" not in loading.stderr
    # the lab's process is spawned and apply waits for it to listen
    starting = _interrupt(demo, lambda: wait_for(lambda: (demo.lab_dir / "lab.log").exists(), timeout=60,
                                                 every=0.005))
    assert starting.returncode == 130, starting.stdout + starting.stderr
    assert "Traceback" not in starting.stderr
    run = demo.cli("apply", str(demo.stack), "--auto-approve", "--no-progress", timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr       # the next apply goes on (the lab is there or starts)


def test_ctrl_c_while_the_state_connects_exits_130(demo: Demo) -> None:
    # a PostgreSQL address that accepts the connection and never answers: the client waits in its connect
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()
    env = {**demo.env, "MGC_IAC_STATE": f"postgresql://mgc@127.0.0.1:{server.getsockname()[1]}/state",
           "PGPASSWORD": "x"}
    try:
        done = _interrupt(demo, lambda: wait_for(lambda: held, timeout=30), env=env)
    finally:
        server.close()
    assert done.returncode == 130, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_mid_copy_exits_130_and_the_next_apply_resumes(demo: Demo) -> None:
    only_web(demo)
    done = _interrupt(demo, lambda: mid_copy(demo))
    assert done.returncode == 130, done.stdout + done.stderr
    assert "Interrupted: the journal is consistent" in done.stdout and "Traceback" not in done.stderr
    journal = demo.cli("state", "journal", str(demo.stack))
    assert f"interrupted {WEB}/StartMigration" in " ".join(journal.stdout.split()), journal.stdout
    run = demo.cli("apply", str(demo.stack), "--auto-approve", "--no-progress", timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr
    assert len(demo.cloud().sms.list_tasks()) == 1              # the interrupted copy went on; no second task
    assert_migrated(demo)
