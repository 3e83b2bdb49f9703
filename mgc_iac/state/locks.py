"""Whether a state lock may be removed without `--force LOCK_ID` (as `terraform force-unlock` asks for the id).

A lock whose holder runs on this host, or that another host took recently, belongs to a live apply: removing
it would let a second apply run on the same stack. Only a lock left by a dead process on this host, or an
old lock of another host (whose liveness this host cannot see), is removed on request.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from mgc_iac._pids import pid_alive
from mgc_iac.state.store import LockInfo

# a long apply holds its lock for hours (copies); another host's lock younger than this counts as live
RECENT = timedelta(hours=24)


def why_held(lock: LockInfo, *, now: datetime | None = None) -> str | None:
    """Why `lock` may not be removed without --force (its holder is alive or recent), or None when it may."""
    if lock.host == socket.gethostname():
        if pid_alive(lock.pid):
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
