"""Whether a process runs on this host: asked by the lab's supervisor (of the children it started) and by the state's
locks (of a lock's holder), so both read a zombie the same way."""

from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this host. A zombie (ended, not yet reaped) does not; a zombie child of this
    process is reaped on the way (a supervisor waiting for its child to end would otherwise wait for ever)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        pass  # not a child of this process: /proc tells a zombie
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True
