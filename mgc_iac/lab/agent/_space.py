"""Ask the target whether its disk is full: error messages alone are not reliable (sftp-server says
'Failure', rsync's receiver message can be lost when its connection closes first)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from mgc_iac.errors import SSHError

if TYPE_CHECKING:
    from mgc_iac.ssh import Connector

FULL_BELOW_KB = 1024


async def disk_full(target: Connector, path: str) -> bool:
    """True when the filesystem holding `path` (or its nearest existing parent) has under 1 MiB free."""
    try:
        probe = await target.run(f"p={shlex.quote(path)}; while [ ! -e \"$p\" ] && [ \"$p\" != / ]; do "
                                 "p=$(dirname \"$p\"); done; df -Pk \"$p\" | tail -n 1", timeout=30)
    except SSHError:
        return False  # the target is unreachable: the caller's own error stands
    fields = probe.stdout.split()
    return probe.ok and len(fields) >= 4 and fields[3].isdigit() and int(fields[3]) < FULL_BELOW_KB
