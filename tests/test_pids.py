"""Whether a process runs (mgc_iac/_pids.py), as the lab's supervisor asks it of its children and the state's locks
of a lock's holder: an ended process does not, whether this process is its parent (it is reaped) or not."""

from __future__ import annotations

import os
import subprocess
import time

from mgc_iac._pids import pid_alive


def test_a_running_process_runs_and_an_ended_child_does_not() -> None:
    assert pid_alive(os.getpid())
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert pid_alive(child.pid)
    finally:
        child.kill()
    deadline = time.monotonic() + 10
    while pid_alive(child.pid):  # a zombie until reaped: pid_alive reaps it
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not pid_alive(child.pid)


def test_a_zombie_that_is_not_our_child_does_not_run() -> None:
    """A lock's holder that ended while its parent has not reaped it yet (here: its parent exec'ed `sleep`)."""
    parent = subprocess.Popen(["sh", "-c", "sleep 0 & echo $!; exec sleep 30"], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        zombie = int(parent.stdout.readline())
        deadline = time.monotonic() + 10
        while pid_alive(zombie):
            assert time.monotonic() < deadline, "the ended `sleep 0` still counts as running"
            time.sleep(0.01)
        assert os.path.exists(f"/proc/{zombie}")  # still in the process table, as a zombie
        assert pid_alive(parent.pid)
    finally:
        parent.kill()
        parent.wait()
