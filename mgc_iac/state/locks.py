"""Whether a state lock may be removed without `--force LOCK_ID` (as `terraform force-unlock` asks for the id).

A lock whose holder runs on this host, or that another host took recently, belongs to a live apply: removing
it would let a second apply run on the same stack. Only a lock left by a dead process on this host, or an
old lock of another host (whose liveness this host cannot see), is removed on request.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mgc_iac.state.store import LockInfo

# a long apply holds its lock for hours (copies); another host's lock younger than this counts as live
RECENT = timedelta(hours=24)


def _running(pid: int) -> bool:
    """Whether process `pid` runs on this host; a zombie (ended, not yet reaped) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def why_held(lock: LockInfo, *, now: datetime | None = None) -> str | None:
    """Why `lock` may not be removed without --force (its holder is alive or recent), or None when it may."""
    if lock.host == socket.gethostname():
        if _running(lock.pid):
            return f"its holder, pid {lock.pid} on this host ({lock.operation} since {lock.since}), is running"
        return None
    try:
        since = datetime.fromisoformat(lock.since.replace("Z", "+00:00"))
    except ValueError:
        return f"it was taken on host {lock.host} at an unreadable time ({lock.since!r})"
    age = (now or datetime.now(UTC)) - since
    if age < RECENT:
        hours = age.total_seconds() / 3600
        return (f"it was taken {hours:.1f} h ago on host {lock.host} by pid {lock.pid} ({lock.operation}); this "
                "host cannot tell whether that process still runs")
    return None
